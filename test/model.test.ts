// Model instances (createModel) and their weight files, against PyTorch: the fixtures of
// test/fixtures/safetensors/ are written by PyTorch (make.py, which also checks that PyTorch loads the files
// generated modules write); the expected outputs are PyTorch's, in float64.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { build, maxRelError } from "./helpers/generated.js";

const dir = "test/fixtures/safetensors";
const bytesOf = (name: string) => new Uint8Array(fs.readFileSync(path.join(dir, name)));
const json = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as Record<string, unknown>;
const numbers = (x: unknown) => (x as (number | string)[]).map(Number);

type Floats = Float32Array | Float64Array;
interface Report {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  defaulted: string[];
  nonFinite: string[];
}
interface ModelTrainer {
  step(input: ArrayLike<number>, target: ArrayLike<number>, n: number): number;
  lr: number;
  readonly steps: number;
  readonly gradNorm: number;
  saveCheckpoint(): Uint8Array;
  loadCheckpoint(bytes: Uint8Array): void;
}
interface Model {
  params: Floats;
  buffers: Floats;
  grads: Floats;
  manifest: { params: { name: string }[]; buffers: { name: string }[] };
  forward(input: ArrayLike<number>, n: number, options?: Record<string, unknown>): Floats;
  predict(input: ArrayLike<number>, n: number): Floats;
  backward(outputGrad: Floats): Floats;
  createTrainer(options: Record<string, unknown>): ModelTrainer;
  loadSafetensors(bytes: Uint8Array, options?: Record<string, unknown>): Report;
  saveSafetensors(): Uint8Array;
}
interface Module {
  createModel(options?: { seed?: number }): Model;
  forward(p: Floats, input: Floats, n: number, options?: Record<string, unknown>): Floats;
  backward(p: Floats, outputGrad: Floats, grads: Floats): Floats;
  mseLoss(output: Floats, target: ArrayLike<number>, n: number, grad?: Floats): number;
}

async function module(spec: string, dtype: "float32" | "float64"): Promise<Module> {
  const source = spec.endsWith(".nn") ? fs.readFileSync(path.join(dir, spec), "utf8") : spec;
  return (await build(source, { dtype })).module as unknown as Module;
}

const mlp64 = await module("mlp.nn", "float64");
const mlp32 = await module("mlp.nn", "float32");
const tied64 = await module("tied.nn", "float64");
const tied32 = await module("tied.nn", "float32");
const outputs = json("mlp-outputs.expected.json");
const x64 = Float64Array.from(numbers(outputs["input"]));

/** A snapshot of a model's weights, to show a failed load changed nothing. */
const snapshot = (m: Model) => [Array.from(m.params), Array.from(m.buffers)];

describe("loading PyTorch's state dicts", () => {
  it("computes what PyTorch computes from the same file: eval() with the loaded running statistics", () => {
    const model = mlp64.createModel();
    const report = model.loadSafetensors(bytesOf("mlp-f64.safetensors"));
    expect(report.loaded).toEqual([
      "fc1.weight",
      "fc1.bias",
      "bn.weight",
      "bn.bias",
      "fc2.weight",
      "fc2.bias",
      "bn.running_mean",
      "bn.running_var",
      "bn.num_batches_tracked",
    ]);
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(maxRelError(model.predict(x64, 5), numbers(outputs["eval"]))).toBeLessThan(1e-12);
  });

  it("forward trains the BatchNorm statistics as PyTorch's train() does, and predict then uses them", () => {
    const model = mlp64.createModel();
    model.loadSafetensors(bytesOf("mlp-f64.safetensors"));
    expect(maxRelError(model.forward(x64, 5), numbers(outputs["train"]))).toBeLessThan(1e-12);
    const [mean, variance, count] = [0, 8, 16];
    expect(maxRelError(model.buffers.subarray(mean, mean + 8), numbers(outputs["running_mean"]))).toBeLessThan(1e-12);
    expect(maxRelError(model.buffers.subarray(variance, variance + 8), numbers(outputs["running_var"]))).toBeLessThan(
      1e-12,
    );
    expect(model.buffers[count]).toBe(outputs["num_batches_tracked"]);
    expect(maxRelError(model.predict(x64, 5), numbers(outputs["eval_after"]))).toBeLessThan(1e-12);
  });

  it("a trainer updates its model's running statistics, which predict uses (no second set to forget)", () => {
    const model = mlp64.createModel();
    model.loadSafetensors(bytesOf("mlp-f64.safetensors"));
    const before = Array.from(model.buffers);
    model.createTrainer({ optimizer: "sgd", lr: 0.01, loss: "mse" }).step(x64, new Float64Array(15), 5);
    expect(Array.from(model.buffers)).not.toEqual(before);
    const flat = Array.from(mlp64.forward(model.params, x64, 5, { buffers: model.buffers }));
    expect(Array.from(model.predict(x64, 5))).toEqual(flat);
  });

  it("converts F32, F16 and BF16 as PyTorch does (float32 module)", () => {
    for (const [file, expected] of [
      ["mlp.safetensors", "mlp.expected.json"],
      ["mlp-f16.safetensors", "mlp-f16.expected.json"],
      ["mlp-bf16.safetensors", "mlp-bf16.expected.json"],
    ] as const) {
      const model = mlp32.createModel();
      model.loadSafetensors(bytesOf(file));
      const want = json(expected);
      const t = mlp32.createModel().manifest.params.map((x) => x.name);
      let at = 0;
      for (const name of t) {
        const values = numbers(want[name]);
        expect(Array.from(model.params.subarray(at, at + values.length)), `${file} ${name}`).toEqual(
          values.map(Math.fround),
        );
        at += values.length;
      }
    }
  });

  it("loads a tied tensor stored twice or once (either name), and computes what PyTorch computes", () => {
    const want = json("tied-outputs.expected.json");
    const tokens = Int32Array.from(numbers(want["tokens"]));
    for (const file of ["tied-twice.safetensors", "tied-once.safetensors", "tied-once-head.safetensors"]) {
      const model = tied64.createModel();
      const report = model.loadSafetensors(bytesOf(file));
      expect(report.missing).toEqual([]);
      expect(maxRelError(model.predict(tokens, 2), numbers(want["output"])), file).toBeLessThan(1e-12);
    }
  });

  it("strips a prefix, with a hint when it is missing; renames", () => {
    const model = mlp32.createModel();
    const before = snapshot(model);
    expect(() => model.loadSafetensors(bytesOf("mlp-prefixed.safetensors"))).toThrow(
      /missing from the file: `fc1\.weight`[\s\S]*not in the model: `net\.[\s\S]*hint: found `net\.[a-z0-9_.]+`: use prefix `net\.`/,
    );
    expect(snapshot(model)).toEqual(before);
    const report = model.loadSafetensors(bytesOf("mlp-prefixed.safetensors"), { prefix: "net." });
    expect(report.loaded).toHaveLength(9);
    const reference = mlp32.createModel();
    reference.loadSafetensors(bytesOf("mlp.safetensors"));
    expect(snapshot(model)).toEqual(snapshot(reference));
    const renamed = mlp32.createModel();
    renamed.loadSafetensors(bytesOf("mlp-prefixed.safetensors"), { rename: (n: string) => n.replace(/^net\./, "") });
    expect(snapshot(renamed)).toEqual(snapshot(reference));
  });

  it("not strict: reports missing and unexpected tensors, defaults a missing BatchNorm counter, flags NaN", () => {
    const model = mlp32.createModel();
    const fc2Bias = Array.from(model.params.subarray(80, 83));
    const missing = model.loadSafetensors(bytesOf("mlp-missing.safetensors"), { strict: false });
    expect(missing.missing).toEqual(["fc2.bias"]);
    expect(Array.from(model.params.subarray(80, 83))).toEqual(fc2Bias);
    expect(model.loadSafetensors(bytesOf("mlp-unexpected.safetensors"), { strict: false }).unexpected).toEqual([
      "fc3.weight",
    ]);
    model.buffers[16] = 7;
    expect(model.loadSafetensors(bytesOf("mlp-no-counter.safetensors")).defaulted).toEqual(["bn.num_batches_tracked"]);
    expect(model.buffers[16]).toBe(0);
    expect(model.loadSafetensors(bytesOf("mlp-nan.safetensors")).nonFinite).toEqual([
      "fc1.weight: 1 NaN, 1 infinite",
      "bn.running_var: 0 NaN, 1 infinite",
    ]);
  });

  it("a bad file is an error naming the problem, and the model's weights are untouched", () => {
    const cases: [string, RegExp, Module?][] = [
      ["hostile-truncated.safetensors", /not a valid safetensors file: .*past the end of the data/],
      ["hostile-short.safetensors", /not a valid safetensors file: the file has 5 bytes/],
      ["hostile-header-huge.safetensors", /over the limit of 100000000/],
      ["hostile-header-past-end.safetensors", /the header's length is \d+ bytes, but the file has only/],
      ["hostile-overlap.safetensors", /tensor `b` \(bytes 8–24\) overlaps tensor `a`/],
      ["hostile-dtype-mismatch.safetensors", /tensor `a` holds 16 bytes, but F64 \[4\] needs 32/],
      ["hostile-offset-overflow.safetensors", /offset that is not a whole number/],
      ["hostile-duplicate.safetensors", /duplicate|twice/i],
      ["hostile-deep.safetensors", /nest/i],
      ["mlp-wrong-shape.safetensors", /tensor `fc2\.weight` has shape \[3, 7\], the model's `fc2\.weight` \[3, 8\]/],
      [
        "mlp-transposed.safetensors",
        /`fc1\.weight` has shape \[4, 8\], the model's `fc1\.weight` \[8, 4\] \(transposed\)/,
      ],
      ["mlp-wrong-dtype.safetensors", /tensor `fc2\.weight` is I32, not a float type/],
      ["mlp-missing.safetensors", /missing from the file: `fc2\.bias`/],
      ["mlp-unexpected.safetensors", /not in the model: `fc3\.weight`/],
      ["tied-differ.safetensors", /`lm_head\.weight` is tied to `wte\.weight`, but the file's values differ/, tied32],
    ];
    for (const [file, message, m = mlp32] of cases) {
      const model = m.createModel({ seed: 3 });
      const before = snapshot(model);
      expect(() => model.loadSafetensors(bytesOf(file)), file).toThrow(message);
      expect(snapshot(model), file).toEqual(before);
    }
    const model = mlp32.createModel();
    expect(() => model.loadSafetensors("weights" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => model.loadSafetensors(bytesOf("mlp.safetensors"), { strict: 1 })).toThrow(TypeError);
  });
});

describe("saving", () => {
  it("writes the bytes PyTorch's files have: the same layout, a tie under both names (make.py loads them)", () => {
    for (const [m, file] of [
      [mlp32, "mlp-meta.safetensors"],
      [tied32, "tied-meta.safetensors"],
    ] as const) {
      const model = m.createModel({ seed: 5 });
      model.loadSafetensors(bytesOf(file));
      expect(Buffer.from(model.saveSafetensors()).equals(Buffer.from(bytesOf(file))), file).toBe(true);
    }
  });

  it("a file nnc trained and saved is what test/fixtures/safetensors/mlp-trained-by-nnc.safetensors holds", () => {
    // make.py loads that file into PyTorch with load_state_dict(strict=True) (NNC_BLESS=1 rewrites it).
    const model = mlp32.createModel();
    model.loadSafetensors(bytesOf("mlp.safetensors"));
    const trainer = model.createTrainer({ optimizer: "adam", lr: 0.01, loss: "cross_entropy" });
    const x = Float32Array.from(x64);
    for (let i = 0; i < 3; i++) trainer.step(x, [0, 1, 2, 1, 0], 5);
    const saved = model.saveSafetensors();
    const file = path.join(dir, "mlp-trained-by-nnc.safetensors");
    if (process.env["NNC_BLESS"]) fs.writeFileSync(file, saved);
    expect(Buffer.from(saved).equals(fs.readFileSync(file))).toBe(true);
    const back = mlp32.createModel({ seed: 9 });
    back.loadSafetensors(saved);
    expect(snapshot(back)).toEqual(snapshot(model));
  });

  it("float64 values round trip exactly", () => {
    const model = mlp64.createModel({ seed: 4 });
    model.forward(x64, 5);
    const back = mlp64.createModel({ seed: 8 });
    back.loadSafetensors(model.saveSafetensors());
    expect(snapshot(back)).toEqual(snapshot(model));
  });
});

const dropout = await module(
  `model D(x: f32[6]) {
  dense(8) batchnorm relu dropout(0.5) dense(3)
  loss cross_entropy
}
`,
  "float64",
);
const batch = Float64Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7));
const labels = [0, 2, 1, 2];

describe("instances", () => {
  it("two instances interleaved compute what each computes alone (parameters, buffers, dropout, outputs)", () => {
    const run = (interleave: boolean) => {
      const a = dropout.createModel({ seed: 1 });
      const b = dropout.createModel({ seed: 2 });
      const ta = a.createTrainer({ optimizer: "adam", lr: 0.01, seed: 11 });
      const tb = b.createTrainer({ optimizer: "sgd", lr: 0.1, momentum: 0.9, seed: 12 });
      const log: number[] = [];
      const steps = (t: ModelTrainer, m: Model) => {
        log.push(t.step(batch, labels, 4));
        const out = m.forward(batch, 4);
        return out;
      };
      if (interleave) {
        for (let i = 0; i < 4; i++) {
          const outA = steps(ta, a);
          const copy = Array.from(outA);
          steps(tb, b);
          // b's call did not touch a's output array (each instance has its own workspace).
          expect(Array.from(outA)).toEqual(copy);
        }
      } else {
        for (let i = 0; i < 4; i++) steps(ta, a);
        for (let i = 0; i < 4; i++) steps(tb, b);
      }
      return { a: snapshot(a), b: snapshot(b), predictA: Array.from(a.predict(batch, 4)), log };
    };
    const together = run(true);
    const alone = run(false);
    expect(together.a).toEqual(alone.a);
    expect(together.b).toEqual(alone.b);
    expect(together.predictA).toEqual(alone.predictA);
    expect([...together.log].sort()).toEqual([...alone.log].sort());
  });

  it("the generated module keeps no mutable state outside createEngine (no top-level let)", async () => {
    const { text } = await build(fs.readFileSync(path.join(dir, "mlp.nn"), "utf8"));
    expect(text.match(/^let /gm)).toBeNull();
    // Top-level arrays: the matrix kernels' scratch (packA, packB, rowBuffer), rewritten by every call
    // before it is read, never read across calls.
    const arrays = [...text.matchAll(/^const (\w+) = new Float(?:32|64)Array/gm)].map((m) => m[1]);
    expect(arrays.every((name) => ["packA", "packB", "rowBuffer"].includes(name!))).toBe(true);
  });
});

describe("trainers bound to a model", () => {
  it("a checkpoint resumes the same trajectory, bit for bit (Adam, dropout, BatchNorm)", () => {
    const straight = dropout.createModel({ seed: 1 });
    const t = straight.createTrainer({ optimizer: "adamw", lr: 0.01, weightDecay: 0.1, seed: 5 });
    for (let i = 0; i < 3; i++) t.step(batch, labels, 4);
    const checkpoint = t.saveCheckpoint();
    for (let i = 0; i < 3; i++) t.step(batch, labels, 4);

    const resumed = dropout.createModel({ seed: 99 });
    const r = resumed.createTrainer({ optimizer: "adamw", lr: 0.5, weightDecay: 0.1, seed: 77 });
    r.loadCheckpoint(checkpoint);
    expect(r.steps).toBe(3);
    for (let i = 0; i < 3; i++) r.step(batch, labels, 4);
    expect(snapshot(resumed)).toEqual(snapshot(straight));
    expect(Buffer.from(r.saveCheckpoint()).equals(Buffer.from(t.saveCheckpoint()))).toBe(true);
  });

  it("a checkpoint of another optimizer or model is refused and changes nothing", () => {
    const model = dropout.createModel({ seed: 1 });
    const adam = model.createTrainer({ optimizer: "adam", lr: 0.01 });
    adam.step(batch, labels, 4);
    const checkpoint = adam.saveCheckpoint();
    const other = dropout.createModel({ seed: 2 });
    const sgd = other.createTrainer({ optimizer: "sgd", lr: 0.01 });
    const before = snapshot(other);
    expect(() => sgd.loadCheckpoint(checkpoint)).toThrow(/optimizer "adam", this trainer's is "sgd"/);
    expect(snapshot(other)).toEqual(before);
    expect(sgd.steps).toBe(0);
    expect(() => sgd.loadCheckpoint(bytesOf("mlp.safetensors"))).toThrow(/not a trainer checkpoint/);
    const truncated = checkpoint.subarray(0, checkpoint.length - 3);
    expect(() => adam.loadCheckpoint(truncated)).toThrow(/not a valid safetensors file/);
  });

  it("the learning rate can be set between steps or follow a schedule", () => {
    const take = (options: Record<string, unknown>, set?: (t: ModelTrainer, step: number) => void) => {
      const m = mlp64.createModel({ seed: 3 });
      const t = m.createTrainer({ optimizer: "sgd", loss: "mse", ...options });
      for (let i = 0; i < 3; i++) {
        set?.(t, i);
        t.step(x64, new Float64Array(15), 5);
      }
      return { params: Array.from(m.params), lr: t.lr };
    };
    const schedule = (step: number) => 0.1 / (step + 1);
    const scheduled = take({ lr: schedule });
    const manual = take({ lr: 1 }, (t, i) => (t.lr = schedule(i)));
    expect(scheduled).toEqual(manual);
    expect(scheduled.lr).toBe(schedule(2));
    expect(take({ lr: 0.1 }).params).not.toEqual(scheduled.params);
    const m = mlp64.createModel();
    const t = m.createTrainer({ optimizer: "sgd", lr: 0.1, loss: "mse" });
    expect(() => (t.lr = -1)).toThrow(RangeError);
    const bad = m.createTrainer({ optimizer: "sgd", lr: () => Number.NaN, loss: "mse" });
    const before = snapshot(m);
    expect(() => bad.step(x64, new Float64Array(15), 5)).toThrow(/lr\(0\) must be a finite number > 0/);
    expect(snapshot(m)).toEqual(before);
  });

  it("clipGradNorm scales the gradient as torch.nn.utils.clip_grad_norm_ does", () => {
    const maxNorm = 0.05;
    const m = mlp64.createModel({ seed: 6 });
    const start = Float64Array.from(m.params);
    const buffers = Float64Array.from(m.buffers);
    // The gradient, by the module's own backward on a copy (same parameters, same running statistics).
    const target = Float64Array.from({ length: 15 }, (_, i) => Math.cos(i));
    const out = mlp64.forward(start, x64, 5, { training: true, buffers });
    const g = new Float64Array(15);
    mlp64.mseLoss(out, target, 5, g);
    const grads = new Float64Array(start.length);
    mlp64.backward(start, g, grads);
    const norm = Math.sqrt(grads.reduce((s, v) => s + v * v, 0));
    expect(norm).toBeGreaterThan(maxNorm);
    const t = m.createTrainer({ optimizer: "sgd", lr: 0.1, loss: "mse", clipGradNorm: maxNorm });
    t.step(x64, target, 5);
    expect(t.gradNorm).toBeCloseTo(norm, 12);
    const scale = maxNorm / (norm + 1e-6);
    const want = Array.from(start, (p, i) => p - 0.1 * grads[i]! * scale);
    expect(maxRelError(m.params, want)).toBeLessThan(1e-12);
  });
});

describe("nnc build --bake-weights FILE.safetensors", () => {
  const run = async (file: string, ...extra: string[]) => {
    const { main } = await import("../src/cli/main.js");
    const os = await import("node:os");
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-bake-st-"));
    let err = "";
    const io = {
      stdout: () => {},
      stderr: (s: string) => (err += s),
      readStdin: () => new Uint8Array(),
      stderrIsTty: false,
      env: {},
    };
    const args = ["build", path.join(dir, "mlp.nn"), "--dtype", "float64", "--bake-weights", path.join(dir, file)];
    const code = await main([...args, ...extra, "--out", out], io);
    const built = path.join(out, "mlp.ts");
    return { code, err, built: fs.existsSync(built) ? built : undefined };
  };

  it("bakes PyTorch's parameters and buffers (a prefix stripped): predict equals PyTorch's eval()", async () => {
    for (const [file, extra] of [
      ["mlp.safetensors", []],
      ["mlp-bf16.safetensors", []],
      ["mlp-prefixed.safetensors", ["--prefix", "net."]],
    ] as const) {
      const result = await run(file, ...extra);
      expect(result.code, result.err).toBe(0);
      const { pathToFileURL } = await import("node:url");
      const baked = (await import(pathToFileURL(result.built!).href)) as { createModel(): Model };
      const got = baked.createModel().predict(x64, 5);
      if (file === "mlp-bf16.safetensors") {
        // bfloat16 weights: PyTorch's float32 outputs are not these; the baked values are the bf16 ones.
        const m = mlp64.createModel();
        m.loadSafetensors(bytesOf(file));
        expect(Array.from(got)).toEqual(Array.from(m.predict(x64, 5)));
      } else expect(maxRelError(got, numbers(outputs["eval"]))).toBeLessThan(1e-12);
    }
  });

  it("refuses a prefixed file without --prefix, a bad file, and --prefix with JSON", async () => {
    const prefixed = await run("mlp-prefixed.safetensors");
    expect(prefixed.code).toBe(1);
    expect(prefixed.err).toMatch(/NN9005[\s\S]*no values for `fc1\.weight`/);
    const bad = await run("hostile-overlap.safetensors");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("not a valid safetensors file: tensor `b` (bytes 8–24) overlaps tensor `a`");
    const dtype = await run("mlp-wrong-dtype.safetensors");
    expect(dtype.code).toBe(1);
    expect(dtype.err).toContain("tensor `fc2.weight` is I32");
    const usage = await run("mlp.expected.json", "--prefix", "net.");
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("--prefix goes with --bake-weights FILE.safetensors");
  });
});
