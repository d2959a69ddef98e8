// The torchvision CNN examples, as compiled in generated/, build and train: one SGD step on one random
// 224×224 image (cross-entropy, a random class) gives a finite loss near ln(1000) — the untrained
// classifier's logits are near zero — moves the parameters and updates the BatchNorm running statistics.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compile } from "../src/emit/compile.js";
import { nodeHost } from "../src/program/node-host.js";
import * as efficientnetB0 from "../generated/efficientnet-b0.js";
import * as mobilenetV3Large from "../generated/mobilenet-v3-large.js";

interface Module {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly paramCount: number;
  createTrainer(options: { optimizer: "sgd"; lr: number; seed?: number; loss?: "cross_entropy" | "mse" }): {
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

/** Compiles a spec that imports an example's blocks (resolved from test/) and imports its module. */
async function buildSmall(name: string, source: string): Promise<Module & { params: readonly Tensor[] }> {
  const result = await compile(source, {}, path.resolve(`test/${name}.nn`), nodeHost);
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  fs.mkdirSync("test/.tmp", { recursive: true });
  const moduleFile = path.resolve(`test/.tmp/${name}-${process.pid}.ts`);
  fs.writeFileSync(moduleFile, result.files[0]!.text);
  return (await import(pathToFileURL(moduleFile).href)) as Module & { params: readonly Tensor[] };
}

interface Tensor {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/** The tensors none of whose elements differ between two parameter arrays. */
function unmoved(tensors: readonly Tensor[], before: Float32Array, after: Float32Array): string[] {
  return tensors
    .filter((t) => after.subarray(t.offset, t.offset + t.size).every((v, i) => v === before[t.offset + i]))
    .map((t) => t.name);
}

// examples/unet.nn's network — its blocks, all 31,030,658 parameters — on a 16×16 image instead of the
// example's 256×256 (a training step there is ~150 GMACs; the parameters do not depend on the size): one SGD
// step on a per-pixel mean squared error moves every tensor and lowers the loss of a second forward pass.
describe("the U-Net example trains one step", () => {
  it("unet (its blocks on 1 × 16 × 16)", async () => {
    const m = await buildSmall(
      "unet-small",
      `import { DoubleConv, Down, Up } from "../examples/unet.nn"

model Small(image: f32[1, 16, 16]) {
  x1 = image -> DoubleConv(64) as inc
  x2 = x1 -> Down(128) as down1
  x3 = x2 -> Down(256) as down2
  x4 = x3 -> Down(512) as down3
  x5 = x4 -> Down(1024) as down4
  u1 = [x5, x4] -> Up(512) as up1
  u2 = [u1, x3] -> Up(256) as up2
  u3 = [u2, x2] -> Up(128) as up3
  u4 = [u3, x1] -> Up(64) as up4
  u4 -> conv2d(2, 1) as outc
  expect params == 31_030_658
}
`,
    );
    expect(m.paramCount).toBe(31_030_658);
    expect(m.outputSize).toBe(2 * 16 * 16);
    const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1, loss: "mse" });
    const before = Float32Array.from(trainer.params);
    const x = image(m.inputSize);
    const target = image(m.outputSize).map((v) => v * 0.5);
    const loss = m.trainStep(trainer, x, target, 1);
    expect(Number.isFinite(loss)).toBe(true);
    // Every tensor moves (the bottleneck sees a 1 × 1 map, so its 3 × 3 kernels move only at their centres,
    // and float32 rounds many small updates away: "every tensor", not "most elements").
    expect(unmoved(m.params, before, trainer.params)).toEqual([]);
    const y = m.forward(trainer.params, x, 1);
    let after = 0;
    for (let i = 0; i < y.length; i++) after += (y[i]! - target[i]!) ** 2;
    expect(after / y.length).toBeLessThan(loss);
  }, 120_000);
});

// examples/densenet-121.nn's feature extractor (its `Features` block: every dense layer and transition, all
// 7,978,856 parameters with the classifier) on a 32×32 image instead of 224×224 — the five halvings leave
// 1×1 before the pooling; a step at 224×224 takes about a minute here. One SGD step on two images moves every
// tensor and the BatchNorm statistics.
describe("the DenseNet-121 example trains one step", () => {
  it("densenet-121 (its Features block on 3 × 32 × 32)", async () => {
    const m = await buildSmall(
      "densenet-small",
      `import { Features } from "../examples/densenet-121.nn"

model Small(image: f32[3, 32, 32]) {
  Features(32, 4) as features
  relu
  adaptive_avg_pool2d([1, 1])
  flatten
  dense(1000) as classifier
  expect params == 7_978_856
}
`,
    );
    const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1, loss: "cross_entropy" });
    const before = Float32Array.from(trainer.params);
    const buffersBefore = Float32Array.from(trainer.buffers);
    // Two images: the last dense block sees 1 × 1 maps, and BatchNorm in training needs more than one value
    // per channel (PyTorch's rule too).
    const loss = m.trainStep(trainer, image(2 * m.inputSize), [7, 3], 2);
    expect(Number.isFinite(loss)).toBe(true);
    expect(Math.abs(loss - Math.log(m.outputSize))).toBeLessThan(1.5);
    expect(unmoved(m.params, before, trainer.params)).toEqual([]);
    expect(Array.from(trainer.buffers).some((v, i) => v !== buffersBefore[i])).toBe(true);
  }, 120_000);
});

// examples/transformer.nn's encoder and decoder (its `Encoder` and `Decoder` blocks: every layer, all
// 44,140,544 parameters of nn.Transformer()) on a 6-vector source and a 4-vector target instead of the
// example's 512 each (a step is then ~1.5 GMACs; the parameters do not depend on the lengths). One SGD step on
// a mean squared error moves every tensor and lowers the loss of an evaluation forward pass, and the
// decoder reads the encoder's output: another source changes the output.
describe("the Transformer example trains one step", () => {
  it("transformer (its Encoder and Decoder on a source of 6 and a target of 4)", async () => {
    const m = await buildSmall(
      "transformer-small",
      `import { Encoder, Decoder } from "../examples/transformer.nn"

model Small(src: f32[s <= 6, 512], tgt: f32[t <= 4, 512]) {
  memory = src -> Encoder(6, 512, 8, 2048) as encoder
  [tgt, memory] -> Decoder(6, 512, 8, 2048) as decoder
  expect params == 44_140_544
}
`,
    );
    const two = m as unknown as TwoInputs;
    expect(m.paramCount).toBe(44_140_544);
    expect(m.outputSize).toBe(4 * 512);
    const trainer = two.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1, loss: "mse" });
    const before = Float32Array.from(trainer.params);
    const src = image(6 * 512);
    const tgt = image(7 * 512).subarray(3 * 512);
    const target = image(m.outputSize).map((v) => v * 0.5);
    // The evaluation loss (no dropout) before and after the step; the step's own loss is with dropout.
    const evalLoss = (p: Float32Array) => {
      const y = two.forward(p, [src, tgt], 1);
      let sum = 0;
      for (let i = 0; i < y.length; i++) sum += (y[i]! - target[i]!) ** 2;
      return sum / y.length;
    };
    const first = evalLoss(before);
    const loss = two.trainStep(trainer, [src, tgt], target, 1);
    expect(Number.isFinite(loss)).toBe(true);
    expect(Math.abs(loss - first)).toBeLessThan(0.1);
    expect(unmoved(m.params, before, trainer.params)).toEqual([]);
    expect(evalLoss(trainer.params)).toBeLessThan(first);
    const y = Float32Array.from(two.forward(trainer.params, [src, tgt], 1));
    const other = two.forward(trainer.params, [src.map((v) => -v), tgt], 1);
    expect(other.some((v, i) => Math.abs(v - y[i]!) > 1e-3)).toBe(true);
  }, 120_000);
});

/** A two-input module's API (the source and the target, each given whole). */
interface TwoInputs {
  createTrainer: Module["createTrainer"];
  trainStep(
    trainer: ReturnType<Module["createTrainer"]>,
    inputs: readonly Float32Array[],
    target: ArrayLike<number>,
    n: number,
  ): number;
  forward(p: Float32Array, inputs: readonly Float32Array[], n: number): Float32Array;
}

// examples/whisper-tiny.nn's `WhisperModel` block (encoder and decoder: every layer, all 37,760,640
// parameters with proj_out tied to the token embedding) on 8 mel frames (4 positions after conv2) and 4
// tokens instead of 3,000 frames and up to 448 tokens (the parameters do not depend on the lengths; the
// positional tables are read for the first positions only). One SGD step on a mean squared error moves every
// tensor but the encoder's frozen positions, lowers the loss of an evaluation forward pass, and the decoder
// reads the encoder's output: another spectrogram changes the logits.
describe("the Whisper example trains one step", () => {
  it("whisper-tiny (its WhisperModel on 8 mel frames and 4 tokens)", async () => {
    const m = await buildSmall(
      "whisper-small",
      `import { WhisperModel } from "../examples/whisper-tiny.nn"

model Small(mel: f32[80, 8], tokens: token[t <= 4] of 51865) {
  [mel, tokens] -> WhisperModel as model
  dense(51865, bias = false, tie = model.decoder.embed_tokens) as proj_out
  expect params == 37_760_640
}
`,
    );
    const two = m as unknown as TwoInputs;
    expect(m.paramCount).toBe(37_760_640);
    expect(m.outputSize).toBe(4 * 51_865);
    const trainer = two.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1, loss: "mse" });
    const before = Float32Array.from(trainer.params);
    const mel = image(80 * 8);
    const tokens = Int32Array.from([50_258, 50_259, 50_359, 17]);
    // The module takes the tokens as an Int32Array beside the spectrogram's Float32Array.
    const inputs = (x: Float32Array) => [x, tokens] as unknown as Float32Array[];
    const target = image(m.outputSize).map((v) => v * 0.5);
    const evalLoss = (p: Float32Array) => {
      const y = two.forward(p, inputs(mel), 1);
      let sum = 0;
      for (let i = 0; i < y.length; i++) sum += (y[i]! - target[i]!) ** 2;
      return sum / y.length;
    };
    const first = evalLoss(before);
    const loss = two.trainStep(trainer, inputs(mel), target, 1);
    expect(Number.isFinite(loss)).toBe(true);
    // No dropout in whisper-tiny: the step's loss is the evaluation loss.
    expect(Math.abs(loss - first)).toBeLessThan(1e-4 * first);
    expect(unmoved(m.params, before, trainer.params)).toEqual(["model.encoder.embed_positions.weight"]);
    expect(evalLoss(trainer.params)).toBeLessThan(first);
    const y = Float32Array.from(two.forward(trainer.params, inputs(mel), 1));
    const other = two.forward(trainer.params, inputs(mel.map((v) => -v)), 1);
    expect(other.some((v, i) => Math.abs(v - y[i]!) > 1e-4)).toBe(true);
  }, 120_000);
});
