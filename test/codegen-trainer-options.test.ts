// Generated modules validate trainer and seed options before any state changes (issue 12): an unknown
// optimizer or loss is a TypeError naming the allowed ones; a number out of range (lr = Infinity, NaN weight
// decay, beta1 = 1, …) a RangeError; a seed that is not an integer in [0, 2^32) throws instead of silently
// standing for another seed. A failed call leaves existing trainers and the random stream as they were.
import { beforeAll, describe, expect, it } from "vitest";
import { build, type Generated } from "./helpers/generated.js";

const spec = `model Net(x: f32[4]) {
  dense(8) relu
  dropout(0.25)
  dense(2)
  loss mse
}
`;

let m: Generated;
beforeAll(async () => {
  m = (await build(spec, { dtype: "float64" })).module;
});

const x = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i));
const t = Float64Array.from({ length: 6 }, (_, i) => Math.cos(i));

const bad: [string, Record<string, unknown>, ErrorConstructor, RegExp][] = [
  [
    "an unknown optimizer",
    { optimizer: "rmsprop", lr: 0.1 },
    TypeError,
    /optimizer must be "sgd", "adam" or "adamw", got "rmsprop"/,
  ],
  [
    "an unknown loss",
    { optimizer: "sgd", lr: 0.1, loss: "hinge" },
    TypeError,
    /loss must be "mse", "cross_entropy" or "binary_cross_entropy", got "hinge"/,
  ],
  ["lr = Infinity", { optimizer: "sgd", lr: Infinity }, RangeError, /lr must be a finite number > 0, got Infinity/],
  ["lr = 0", { optimizer: "sgd", lr: 0 }, RangeError, /lr must be a finite number > 0, got 0/],
  ["lr as a string", { optimizer: "sgd", lr: "0.1" }, TypeError, /lr must be a number, got string/],
  ["momentum = 1", { optimizer: "sgd", lr: 0.1, momentum: 1 }, RangeError, /momentum must be in \[0, 1\), got 1/],
  ["momentum < 0", { optimizer: "sgd", lr: 0.1, momentum: -0.5 }, RangeError, /momentum must be in \[0, 1\), got -0.5/],
  [
    "NaN weight decay",
    { optimizer: "adamw", lr: 0.1, weightDecay: NaN },
    RangeError,
    /weightDecay must be a finite number ≥ 0, got NaN/,
  ],
  [
    "negative weight decay",
    { optimizer: "adam", lr: 0.1, weightDecay: -1e-4 },
    RangeError,
    /weightDecay must be a finite number ≥ 0/,
  ],
  ["beta1 = 1", { optimizer: "adam", lr: 0.1, beta1: 1 }, RangeError, /beta1 must be in \[0, 1\), got 1/],
  ["beta2 < 0", { optimizer: "adam", lr: 0.1, beta2: -0.1 }, RangeError, /beta2 must be in \[0, 1\), got -0.1/],
  ["eps = 0", { optimizer: "adam", lr: 0.1, eps: 0 }, RangeError, /eps must be a finite number > 0, got 0/],
  [
    "fromLogits as a number",
    { optimizer: "adam", lr: 0.1, fromLogits: 1 },
    TypeError,
    /fromLogits must be a boolean, got number/,
  ],
  [
    "seed = NaN",
    { optimizer: "adam", lr: 0.1, seed: NaN },
    RangeError,
    /seed must be an integer in \[0, 2\^32\), got NaN/,
  ],
  [
    "seed = 2^32",
    { optimizer: "adam", lr: 0.1, seed: 2 ** 32 },
    RangeError,
    /seed must be an integer in \[0, 2\^32\), got 4294967296/,
  ],
];

/** The loss of 3 steps of a trainer built with seed 7 (dropout draws from the module's random stream). */
function run(trainer: ReturnType<Generated["createTrainer"]>): number[] {
  return [0, 1, 2].map(() => m.trainStep(trainer, x, t, 3));
}

describe("createTrainer validates its options", () => {
  it.each(bad)("rejects %s before any state changes", (_, options, type, message) => {
    const reference = run(m.createTrainer({ optimizer: "adam", lr: 0.01, seed: 7 }));
    const trainer = m.createTrainer({ optimizer: "adam", lr: 0.01, seed: 7 });
    const before = Float64Array.from(trainer.params);
    expect(() => m.createTrainer(options, trainer.params)).toThrow(type);
    expect(() => m.createTrainer(options, trainer.params)).toThrow(message);
    expect(() => m.createTrainer(options)).toThrow(message);
    expect(Array.from(trainer.params)).toEqual(Array.from(before));
    // The failed calls did not reseed the random stream the dropout masks come from.
    expect(run(trainer)).toEqual(reference);
  });

  it("accepts the edge values of each range", () => {
    for (const options of [
      { optimizer: "sgd", lr: 1e-9, momentum: 0, weightDecay: 0, seed: 0 },
      { optimizer: "adam", lr: 0.1, beta1: 0, beta2: 0.999999, eps: 1e-12, seed: 2 ** 32 - 1 },
      { optimizer: "adamw", lr: 0.1, loss: "binary_cross_entropy", fromLogits: true },
    ]) {
      expect(() => m.createTrainer(options)).not.toThrow();
    }
  });

  it("keeps its own copy of the options: a later change does not reach the trainer", () => {
    const options = { optimizer: "sgd", lr: 0.01, seed: 7 };
    const trainer = m.createTrainer(options);
    options.lr = Infinity;
    expect(run(trainer).every(Number.isFinite)).toBe(true);
  });
});

describe("seeds are integers in [0, 2^32)", () => {
  it.each([
    [NaN, RangeError],
    [1.9, RangeError],
    [-1, RangeError],
    [2 ** 32, RangeError],
    ["abc", TypeError],
  ])("createParams(%s) throws a %o", (seed, type) => {
    expect(() => m.createParams(seed as number)).toThrow(type);
  });

  it("forward rejects a bad dropout seed", () => {
    expect(() => m.forward(m.createParams(1), x, 3, { training: true, seed: 0.5 })).toThrow(/seed must be an integer/);
  });

  it("the largest seed is accepted and differs from seed 0", () => {
    expect(Array.from(m.createParams(2 ** 32 - 1))).not.toEqual(Array.from(m.createParams(0)));
  });
});
