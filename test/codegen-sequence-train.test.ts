// Sequence models train end to end in generated code (seeded, deterministic):
// - the tiny GPT of examples/tiny-gpt.nn (vocab 64, width 32, 2 layers, 4 heads, MLP 128, context 16,
//   tied embeddings) learns next-token prediction on a seeded synthetic language with Adam;
// - an LSTM learns a seeded sequence-classification task.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { build, seeded } from "./helpers/generated.js";

interface TokenModel {
  createTrainer(options: Record<string, unknown>): { params: Float32Array };
  trainStep(trainer: unknown, input: Int32Array, target: ArrayLike<number>, n: number): number;
  forward(p: Float32Array, input: Int32Array, n: number): Float32Array;
}

describe("training sequence models", () => {
  it("tiny GPT: cross-entropy per token falls from ~4.2 to below 0.25 within 400 Adam steps", async () => {
    const { module } = await build(fs.readFileSync("examples/tiny-gpt.nn", "utf8"), { dtype: "float32" });
    const m = module as unknown as TokenModel;
    // The language: each sequence starts at a random token and follows t' = (5·t + 3 + c) mod 64, where the
    // offset c ∈ {0, 7} is fixed per sequence — the model must read the context (attention) to know c.
    const rand = seeded(17);
    const n = 8;
    const T = 16;
    const batch = () => {
      const x = new Int32Array(n * T);
      const y: number[] = [];
      for (let b = 0; b < n; b++) {
        const c = rand() > 0 ? 7 : 0;
        let t = Math.floor(((rand() + 1) / 2) * 64) % 64;
        for (let i = 0; i < T; i++) {
          x[b * T + i] = t;
          t = (5 * t + 3 + c) % 64;
          y.push(t);
        }
      }
      return { x, y };
    };
    const trainer = m.createTrainer({ optimizer: "adam", lr: 0.01, seed: 4 });
    const first = batch();
    const start = m.trainStep(trainer, first.x, first.y, n);
    let recent: number[] = [];
    for (let step = 0; step < 400; step++) {
      const { x, y } = batch();
      recent.push(m.trainStep(trainer, x, y, n));
      if (recent.length > 20) recent = recent.slice(-20);
    }
    const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
    expect(start).toBeGreaterThan(3.5); // ≈ ln 64 = 4.16 at initialization
    expect(mean).toBeLessThan(0.25);
  }, 60_000);

  it("LSTM: learns whether a seeded sequence's running sum ends positive (cross-entropy below 0.15)", async () => {
    const spec = `model Sign(x: f32[t <= 10, 1]) {
  lstm(12, sequences = false)
  dense(2)
  loss cross_entropy
}
`;
    const { module } = await build(spec, { dtype: "float32" });
    const m = module as unknown as {
      createTrainer(o: Record<string, unknown>): unknown;
      trainStep(t: unknown, x: Float32Array, y: ArrayLike<number>, n: number): number;
    };
    const rand = seeded(29);
    const n = 32;
    const batch = () => {
      const x = new Float32Array(n * 10);
      const y: number[] = [];
      for (let b = 0; b < n; b++) {
        let sum = 0;
        for (let i = 0; i < 10; i++) {
          const v = rand();
          x[b * 10 + i] = v;
          sum += v;
        }
        y.push(sum > 0 ? 1 : 0);
      }
      return { x, y };
    };
    const trainer = m.createTrainer({ optimizer: "adam", lr: 0.02, seed: 6 });
    const first = batch();
    const start = m.trainStep(trainer, first.x, first.y, n);
    let recent: number[] = [];
    for (let step = 0; step < 300; step++) {
      const { x, y } = batch();
      recent.push(m.trainStep(trainer, x, y, n));
      if (recent.length > 20) recent = recent.slice(-20);
    }
    const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
    expect(start).toBeGreaterThan(0.6); // ≈ ln 2 at initialization
    expect(mean).toBeLessThan(0.15);
  }, 60_000);
});
