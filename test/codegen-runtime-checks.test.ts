// A transactional generated runtime (issue 12, "Generated runtime"): every exported function of a generated
// module checks all of its arguments — kinds of arrays, lengths, integer ids and class targets, aliasing —
// before it changes any state, and a workspace allocation that fails leaves the module as it was. One test
// per defect the issue lists; seeds (NaN, 'abc', 2^32, 1.9) are covered by codegen-trainer-options.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { build, type Generated } from "./helpers/generated.js";

/** The generated API with the argument types loosened, to pass what a careless caller would. */
type Loose = Omit<
  Generated,
  "forward" | "backward" | "crossEntropyLoss" | "mseLoss" | "createTrainer" | "trainStep"
> & {
  forward(p: unknown, input: unknown, n: number, options?: unknown): Float32Array;
  backward(p: unknown, outputGrad: unknown, grads: unknown): Float32Array;
  crossEntropyLoss(logits: unknown, targets: unknown, n: number, grad?: unknown): number;
  mseLoss(output: unknown, target: unknown, n: number, grad?: unknown): number;
  createTrainer(options: Record<string, unknown>, params?: unknown): Trainer;
  trainStep(trainer: unknown, input: unknown, target: unknown, n: number): number;
};
interface Trainer {
  params: Float32Array;
  grads: Float32Array;
  buffers: Float32Array;
  m: Float32Array;
  v: Float32Array;
  options: Record<string, unknown>;
  steps: number;
}

const copy = (a: ArrayLike<number>) => Array.from(a);

// Four inputs and four outputs (so an output can be fed back as an input), a hidden layer in between.
let mlp: Loose;
beforeAll(async () => {
  mlp = (await build("model M(x: f32[4]) {\n  dense(5) tanh dense(4)\n}\n")).module as unknown as Loose;
});

describe("arguments of the wrong kind are refused before anything runs", () => {
  const x = Float32Array.from([0.5, -1, 2, 0.25, 1, 0, -0.5, 0.75]);

  it("a string or a plain object as input is a TypeError, not NaN outputs", () => {
    const p = mlp.createParams(1);
    expect(() => mlp.forward(p, "abcd", 1)).toThrow(new TypeError("input must be a Float32Array, got string"));
    expect(() => mlp.forward(p, { length: 4 }, 1)).toThrow(new TypeError("input must be a Float32Array, got object"));
    expect(() => mlp.forward(p, [1, 2, 3, 4], 1)).toThrow(new TypeError("input must be a Float32Array, got an array"));
    // Another kind of typed array would be converted silently (Int32Array truncates, Float64Array rounds).
    expect(() => mlp.forward(p, new Float64Array(4), 1)).toThrow(
      new TypeError("input must be a Float32Array, got Float64Array"),
    );
    expect(() => mlp.forward(Array.from(p), x, 2)).toThrow(
      new TypeError("params must be a Float32Array, got an array"),
    );
    expect(() => mlp.forward(p, x, 2, null)).toThrow(new TypeError("options must be an object, got null"));
    expect(() => mlp.forward(p, x, 2, { training: "yes" })).toThrow(
      new TypeError("options.training must be a boolean, got string"),
    );
  });

  it("an Int32Array for the gradients is a TypeError, not gradients truncated to 0", () => {
    const p = mlp.createParams(1);
    mlp.forward(p, x, 2);
    const outputGrad = Float32Array.from({ length: 8 }, (_, i) => 1 - i / 4);
    expect(() => mlp.backward(p, outputGrad, new Int32Array(mlp.paramCount))).toThrow(
      new TypeError("grads must be a Float32Array, got Int32Array"),
    );
    expect(() => mlp.backward(p, Array.from(outputGrad), new Float32Array(mlp.paramCount))).toThrow(
      new TypeError("outputGrad must be a Float32Array, got an array"),
    );
  });

  it("token ids must be an Int32Array of ids in the vocabulary", async () => {
    const m = (await build("model T(ids: token[3] of 10) {\n  embedding(10, 2) flatten dense(2)\n}\n"))
      .module as unknown as Loose;
    const p = m.createParams(1);
    expect(() => m.forward(p, Float32Array.from([1, 2, 3]), 1)).toThrow(
      new TypeError("input must be an Int32Array of token ids, got Float32Array"),
    );
    expect(() => m.forward(p, "abc", 1)).toThrow(TypeError);
    expect(() => m.forward(p, Int32Array.from([1, 10, 3]), 1)).toThrow(
      /token id 10 at position 1 is outside the vocabulary 0..9/,
    );
    expect(m.forward(p, Int32Array.from([1, 9, 3]), 1)).toHaveLength(2);
  });
});

describe("aliasing between inputs, outputs and parameters", () => {
  it("an output fed back in as the input gives what a copy of it gives (values and gradients)", async () => {
    const build2 = async () =>
      (await build("model M(x: f32[4]) {\n  dense(5) tanh dense(4)\n}\n", { dtype: "float64" }))
        .module as unknown as Loose;
    const [a, b] = [await build2(), await build2()];
    const p = a.createParams(3);
    const x = Float64Array.from({ length: 8 }, (_, i) => Math.sin(i + 1));
    const w = Float64Array.from({ length: 8 }, (_, i) => Math.cos(i));
    const first = a.forward(p, x, 2);
    const again = copy(a.forward(p, first, 2)); // the array forward returned, as its own input
    const ga = new Float64Array(a.paramCount);
    const gxa = copy(a.backward(p, w, ga));
    // The same computation on a module that never saw its own array: the first output copied.
    const firstB = Float64Array.from(b.forward(p, x, 2));
    expect(copy(b.forward(p, firstB, 2))).toEqual(again);
    const gb = new Float64Array(b.paramCount);
    expect(gxa).toEqual(copy(b.backward(p, w, gb)));
    expect(copy(ga)).toEqual(copy(gb));
  });

  it("an input that is also an output comes back with its values", async () => {
    const m = (await build("model Two(a: f32[3]) {\n  y = a -> dense(2)\n  output a, y\n}\n")).module as unknown as {
      createParams(seed: number): Float32Array;
      forward(p: Float32Array, a: Float32Array, n: number): readonly [Float32Array, Float32Array];
    };
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const [same, y] = m.forward(m.createParams(1), a, 2);
    expect(copy(same)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(same).not.toBe(a); // outputs never alias inputs: the caller may change `a` afterwards
    expect(y).toHaveLength(4);
  });

  it("the caller's input may change between forward and backward: backward uses what forward saw", async () => {
    const m = (await build("model M(x: f32[3]) {\n  dense(2, bias = false)\n}\n", { dtype: "float64" }))
      .module as unknown as Loose;
    const p = m.createParams(2);
    const x = Float64Array.from([1, 2, 3]);
    m.forward(p, x, 1);
    x.fill(100);
    const g = new Float64Array(m.paramCount);
    m.backward(p, Float64Array.from([1, 0]), g);
    // d(y0)/d(W0j) = x_j as forward saw it.
    expect(copy(g)).toEqual([1, 2, 3, 0, 0, 0]);
  });

  it("grads that share memory with the parameters are refused, and the parameters stay", () => {
    const p = mlp.createParams(1);
    const keep = copy(p);
    mlp.forward(p, new Float32Array(8), 2);
    const outputGrad = Float32Array.from({ length: 8 }, () => 1);
    expect(() => mlp.backward(p, outputGrad, p)).toThrow(new TypeError("grads share memory with params"));
    const view = new Float32Array(p.buffer, 0, mlp.paramCount);
    expect(() => mlp.backward(p, outputGrad, view)).toThrow(new TypeError("grads share memory with params"));
    expect(copy(p)).toEqual(keep);
  });

  it("parameters in an array the module returned are refused (they would be overwritten while read)", async () => {
    const s = (await build("model S(x: f32[2]) {\n  dense(3, bias = false) dense(2, bias = false)\n}\n"))
      .module as unknown as Loose;
    expect(s.paramCount).toBe(12);
    const y = s.forward(s.createParams(1), new Float32Array(12), 6); // 6 samples × 2 outputs = 12 values
    expect(() => s.forward(y, new Float32Array(12), 6)).toThrow(
      /params share memory with an array this module returned/,
    );
    const gx = s.backward(s.createParams(1), new Float32Array(12), new Float32Array(12)); // 6 × 2 input gradients
    expect(() => s.backward(s.createParams(1), new Float32Array(12), gx)).toThrow(
      /grads share memory with an array this module returned/,
    );
  });

  it("a loss's gradient array may not share memory with the targets", () => {
    const logits = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const grad = new Float32Array(8);
    expect(() => mlp.mseLoss(logits, grad, 2, grad)).toThrow(new TypeError("grad shares memory with the targets"));
    expect(() => mlp.mseLoss(logits, logits, 2, logits)).toThrow(new TypeError("grad shares memory with the output"));
  });
});

describe("losses validate every target before writing any gradient", () => {
  it("crossEntropyLoss with a bad last target leaves the gradient untouched", () => {
    const logits = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const grad = new Float32Array(8).fill(7);
    expect(() => mlp.crossEntropyLoss(logits, [0, 4], 2, grad)).toThrow(
      /target 1 is 4, expected a class index in 0..3/,
    );
    expect(() => mlp.crossEntropyLoss(logits, [0, 1.5], 2, grad)).toThrow(/target 1 is 1.5/);
    expect(() => mlp.crossEntropyLoss(logits, ["0", 1], 2, grad)).toThrow(
      new TypeError("targets[0] must be a number, got string"),
    );
    expect(copy(grad)).toEqual(new Array(8).fill(7));
  });

  it("targets that are a string or a plain object are a TypeError, not NaN", () => {
    const output = new Float32Array(8);
    expect(() => mlp.mseLoss(output, "abcdefgh", 2)).toThrow(
      new TypeError("target must be a typed array or an array of numbers, got string"),
    );
    expect(() => mlp.mseLoss(output, { length: 8 }, 2)).toThrow(TypeError);
    expect(() => mlp.mseLoss(output, new Float32Array(8), Number.NaN)).toThrow(RangeError);
  });
});

describe("a training step that fails has changed nothing", () => {
  // BatchNorm's running statistics are updated by the forward pass in training mode; the targets are read
  // only after it. A step with bad targets must throw before that forward pass.
  const spec = "model B(x: f32[3]) {\n  dense(4) batchnorm relu dense(3)\n  loss cross_entropy\n}\n";
  let m: Loose;
  beforeAll(async () => {
    m = (await build(spec)).module as unknown as Loose;
  });
  const x = Float32Array.from([0.5, -1, 2, 0.25, 1, 0, -0.5, 0.75, 1.5]);

  const snapshot = (t: Trainer) => ({
    params: copy(t.params),
    buffers: copy(t.buffers),
    m: copy(t.m),
    v: copy(t.v),
    steps: t.steps,
  });

  it.each([
    ["a class index out of range", [0, 1, 3], /target 2 is 3, expected a class index in 0..2/],
    ["a fractional class index", [0, 0.5, 1], /target 1 is 0.5/],
    ["too few targets", [0, 1], /targets has 2 elements, expected 3/],
    ["a string", "abc", /targets must be a typed array or an array of numbers, got string/],
  ])("%s: no running statistics, parameters or optimizer state changed", (_, targets, message) => {
    const trainer = m.createTrainer({ optimizer: "adam", lr: 0.01, seed: 1 });
    m.trainStep(trainer, x, [0, 1, 2], 3);
    const before = snapshot(trainer);
    expect(() => m.trainStep(trainer, x, targets, 3)).toThrow(message);
    expect(snapshot(trainer)).toEqual(before);
  });

  it("options changed on the trainer object after createTrainer are checked at each step", () => {
    const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01 });
    const before = snapshot(trainer);
    trainer.options = { optimizer: "sgd", lr: Number.POSITIVE_INFINITY };
    expect(() => m.trainStep(trainer, x, [0, 1, 2], 3)).toThrow(/lr must be a finite number > 0, got Infinity/);
    expect(snapshot(trainer)).toEqual(before);
  });

  it("a second batchnorm that cannot train on this batch stops the step before the first updates", async () => {
    // The first batchnorm sees 16 positions per channel, the second (after pooling) 1: at n = 1 the second
    // has one value per channel (PyTorch refuses that in training mode).
    const b2 = (await build("model P(x: f32[2, 4, 4]) {\n  batchnorm max_pool2d(4) batchnorm flatten dense(2)\n}\n"))
      .module as unknown as Loose;
    const buffers = b2.createBuffers();
    const keep = copy(buffers);
    expect(() => b2.forward(b2.createParams(1), new Float32Array(32).fill(1), 1, { training: true, buffers })).toThrow(
      /batchnorm in training mode needs more than one value per channel, got 1/,
    );
    expect(copy(buffers)).toEqual(keep);
  });
});

describe("a failed workspace allocation leaves the module usable", () => {
  // One input, 32,768 hidden values per sample: at n = 2^18 the hidden layer needs 2^33 elements, more than
  // a typed array may hold (V8 refuses it before allocating anything), while the input is only 2^18 values.
  it("a retry after a failed huge batch fails again, and smaller batches still work", async () => {
    const m = (await build("model W(x: f32[1]) {\n  dense(32768) dense(1)\n}\n")).module as unknown as Loose;
    const p = m.createParams(1);
    const x = Float32Array.from([0.5, -0.25]);
    const want = copy(m.forward(p, x, 2));
    const outputGrad = Float32Array.from([1, -1]);
    const g0 = new Float32Array(m.paramCount);
    const gx0 = copy(m.backward(p, outputGrad, g0));

    m.forward(p, x, 2);
    const huge = new Float32Array(2 ** 18);
    expect(() => m.forward(p, huge, 2 ** 18)).toThrow(RangeError);
    // Before: the batch size was recorded first, so this retry skipped allocation and returned 1 output
    // per … 2 samples, or 1 output for 262,144 samples.
    expect(() => m.forward(p, huge, 2 ** 18)).toThrow(RangeError);
    // The last successful forward call's values are intact: backward still follows it.
    const g1 = new Float32Array(m.paramCount);
    expect(copy(m.backward(p, outputGrad, g1))).toEqual(gx0);
    expect(copy(g1)).toEqual(copy(g0));
    expect(copy(m.forward(p, x, 2))).toEqual(want);
    expect(m.forward(p, new Float32Array(3), 3)).toHaveLength(3);
  });
});

describe("--bake-weights checks shapes, finiteness, ties and buffers", () => {
  const spec = "model M(x: f32[3]) {\n  dense(2)\n}\n"; // 0.weight [2, 3], 0.bias [2]
  const messages = async (bakeWeights: unknown, dtype: "float32" | "float64" = "float32") => {
    const { compile } = await import("../src/emit/compile.js");
    const result = await compile(spec, { dtype, bakeWeights: bakeWeights as Record<string, number[]> });
    expect(result.files.length === 0).toBe(result.diagnostics.length > 0);
    return result.diagnostics.map((d) => `${d.code} ${d.message}`);
  };

  it("nested arrays must have exactly the tensor's shape: ragged or transposed nestings are refused", async () => {
    expect(
      await messages({
        "0.weight": [
          [1, 2, 3],
          [4, 5],
        ],
        "0.bias": [0, 0],
      }),
    ).toEqual([
      "NN9005 --bake-weights for `M`: `0.weight` is not nested to shape [2, 3]: the array[1] has 2 elements, expected 3",
    ]);
    expect(
      await messages({
        "0.weight": [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        "0.bias": [0, 0],
      }),
    ).toEqual([
      "NN9005 --bake-weights for `M`: `0.weight` is not nested to shape [2, 3]: the array has 3 elements, expected 2",
    ]);
    expect(
      await messages({
        "0.weight": [
          [1, 2, [3]],
          [4, 5, 6],
        ],
        "0.bias": [0, 0],
      }),
    ).toEqual([
      "NN9005 --bake-weights for `M`: `0.weight` is not nested to shape [2, 3]: the array[0][2] is an array, expected a number",
    ]);
    // The right nesting is the same tensor as its flat form.
    expect(
      await messages({
        "0.weight": [
          [1, 2, 3],
          [4, 5, 6],
        ],
        "0.bias": [0, 0],
      }),
    ).toEqual([]);
    expect(await messages({ "0.weight": [1, 2, 3, 4, 5], "0.bias": [0, 0] })).toEqual([
      "NN9005 --bake-weights for `M`: `0.weight` has 5 values, expected 6 (shape [2, 3])",
    ]);
  });

  it("nnc build --bake-weights passes a file's nesting to the check (it used to flatten ragged arrays)", async () => {
    const { main } = await import("../src/cli/main.js");
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-bake-"));
    try {
      fs.writeFileSync(path.join(dir, "m.nn"), spec);
      const run = async (weights: unknown) => {
        fs.writeFileSync(path.join(dir, "w.json"), JSON.stringify(weights));
        let err = "";
        const io = {
          stdout: () => {},
          stderr: (s: string) => (err += s),
          readStdin: () => new Uint8Array(),
          stderrIsTty: false,
          env: {},
        };
        const code = await main(
          ["build", path.join(dir, "m.nn"), "--bake-weights", path.join(dir, "w.json"), "--out", path.join(dir, "out")],
          io,
        );
        return { code, err };
      };
      const ragged = await run({
        "0.weight": [
          [1, 2, 3],
          [4, 5],
        ],
        "0.bias": [0, 0],
      });
      expect(ragged.code).toBe(1);
      expect(ragged.err).toContain("NN9005");
      expect(ragged.err).toContain("`0.weight` is not nested to shape [2, 3]: the array[1] has 2 elements, expected 3");
      expect(fs.existsSync(path.join(dir, "out", "m.ts"))).toBe(false);
      expect(
        (
          await run({
            "0.weight": [
              [1, 2, 3],
              [4, 5, 6],
            ],
            "0.bias": [0, 0],
          })
        ).code,
      ).toBe(0);
      expect(fs.readFileSync(path.join(dir, "out", "m.ts"), "utf8")).toContain("export const bakedParams");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a value that is not finite in the storage type is refused (1e39 is Infinity in float32)", async () => {
    // 1e39 > the largest float32, (2 − 2^-23) · 2^127 ≈ 3.4028e38 (IEEE 754 binary32), so it rounds to Infinity.
    expect(Math.fround(1e39)).toBe(Number.POSITIVE_INFINITY);
    expect(await messages({ "0.weight": [1, 2, 3, 4, 5, 6], "0.bias": [0, 1e39] })).toEqual([
      "NN9005 --bake-weights for `M`: `0.bias` element 1 is 1e+39, not finite in float32",
    ]);
    expect(await messages([1, 2, 3, 4, 5, 6, 0, 1e39])).toEqual([
      "NN9005 --bake-weights for `M`: value 7 (`0.bias` element 1) is 1e+39, not finite in float32",
    ]);
    expect(await messages({ "0.weight": [1, 2, 3, 4, 5, 6], "0.bias": [0, 1e39] }, "float64")).toEqual([]);
  });

  it("tied values must equal the tensor they are tied to: refused when they differ, not dropped", async () => {
    const { compile } = await import("../src/emit/compile.js");
    const tied =
      "model T(ids: token[2] of 4) {\n  embedding(4, 2) as wte\n  dense(4, bias = false, tie = wte) as head\n}\n";
    const wte = [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ];
    const run = async (weights: Record<string, unknown>) =>
      (await compile(tied, { bakeWeights: weights as Record<string, number[]> })).diagnostics.map(
        (d) => `${d.code} ${d.message}`,
      );
    expect(await run({ "wte.weight": wte })).toEqual([]);
    expect(await run({ "wte.weight": wte, "head.weight": wte })).toEqual([]);
    expect(
      await run({
        "wte.weight": wte,
        "head.weight": [
          [1, 2],
          [3, 4],
          [5, 6],
          [7, 9],
        ],
      }),
    ).toEqual([
      "NN9005 --bake-weights for `T`: `head.weight` is tied to `wte.weight` but differs from it at element 7 (9 against 8): give equal values or leave it out",
    ]);
  });

  it("BatchNorm statistics are accepted and used; missing ones are refused, not replaced by defaults", async () => {
    const bn = "model B(x: f32[3]) {\n  dense(2) as fc\n  batchnorm as bn\n}\n";
    const { module: general } = await build(bn, { dtype: "float64" });
    const p = general.createParams(5);
    const buffers = general.createBuffers();
    const stats: Record<string, number[]> = {
      "bn.running_mean": [0.5, -2],
      "bn.running_var": [4, 0.25],
      "bn.num_batches_tracked": [7],
    };
    for (const [name, values] of Object.entries(stats))
      buffers.set(values, general.buffers.find((t) => t.name === name)!.offset);
    const byName: Record<string, number[]> = {
      ...stats,
      ...Object.fromEntries(general.params.map((t) => [t.name, Array.from(p.subarray(t.offset, t.offset + t.size))])),
    };
    const { module: baked, text } = await build(bn, { dtype: "float64", bakeWeights: byName });
    const x = Float64Array.from([1, -1, 0.5, 2, 0, -3]);
    const want = Array.from(general.forward(p, x, 2, { buffers }));
    const forward = baked.forward as unknown as (x: Float64Array, n: number) => Float64Array;
    expect(Array.from(forward(x, 2))).toEqual(want);
    expect(Array.from(baked.createBuffers())).toEqual(Array.from(buffers));
    expect(text).not.toMatch(/running variances 1/);
    const { compile } = await import("../src/emit/compile.js");
    const missing = await compile(bn, {
      bakeWeights: Object.fromEntries(Object.entries(byName).filter(([k]) => k !== "bn.running_var")),
    });
    expect(missing.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      "NN9005 --bake-weights for `B`: no values for the buffer `bn.running_var` (a state_dict holds its buffers too)",
    ]);
  });
});

describe("an inference build carries no backward code and no gradient memory", () => {
  // Every kind whose forward keeps something for the backward pass in a trainable build: batchnorm,
  // groupnorm, layernorm and rmsnorm (x̂, inverse deviations), dropout (its mask), max pooling (argmaxes).
  const spec = `model I(x: f32[4, 4, 4]) {
  batchnorm as bn
  groupnorm(2) as gn
  max_pool2d(2) as pool
  dropout(0.5)
  flatten
  dense(6) as fc
  layernorm as ln
  rmsnorm as rms
}
`;
  it("has no gradient arrays, no saved values, no losses, and computes what the trainable build computes", async () => {
    const { module: general, text: generalText } = await build(spec, { dtype: "float64" });
    const p = general.createParams(3);
    const buffers = general.createBuffers();
    buffers.set([0.5, -1, 0, 2], general.buffers.find((t) => t.name === "bn.running_mean")!.offset);
    const byName: Record<string, number[]> = Object.fromEntries([
      ...general.params.map((t) => [t.name, Array.from(p.subarray(t.offset, t.offset + t.size))]),
      ...general.buffers.map((t) => [t.name, Array.from(buffers.subarray(t.offset, t.offset + t.size))]),
    ]);
    const { module: baked, text } = await build(spec, { dtype: "float64", bakeWeights: byName });
    // The trainable build has all of these; the inference build none.
    for (const word of [/\bgrad\d+\b/, /\bscratch\d+_/, /\bbackward\b/i, /Loss\b/, /\btrainStep\b/]) {
      expect(generalText).toMatch(word);
      expect(text).not.toMatch(word);
    }
    const x = Float64Array.from({ length: 128 }, (_, i) => Math.sin(i * 0.7) * 2);
    const forward = baked.forward as unknown as (x: Float64Array, n: number, options?: object) => Float64Array;
    expect(Array.from(forward(x, 2))).toEqual(Array.from(general.forward(p, x, 2, { buffers })));
    // Training mode (batch statistics, a dropout mask from the seeded stream) as well.
    const own = baked.createBuffers();
    expect(Array.from(forward(x, 2, { training: true, seed: 9, buffers: own }))).toEqual(
      Array.from(general.forward(p, x, 2, { training: true, seed: 9, buffers })),
    );
    expect(Array.from(own)).toEqual(Array.from(buffers));
  });
});
