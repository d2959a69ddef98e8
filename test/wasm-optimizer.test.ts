// The optimizer updates on WebAssembly SIMD (src/emit/wasm/optimizer.ts) against the TypeScript update of
// the generated trainStep (src/emit/module.ts), which this file transcribes as `reference` below: the
// kernels do the same double-precision operations in the same order and round each stored value once, so
// the results must be equal bit for bit (float32 and float64), not merely close. Kernel level: every update
// on lengths 0–9 and 1001 (the f64x2 steps and the odd last element), with zeros of both signs, tiny and
// huge values among the inputs, at unaligned addresses, nothing written outside its arrays. Module level: a
// `--target wasm` module's trainStep on SGD, SGD with momentum, Adam and AdamW (weight decay, clipping, a
// frozen tensor) over three steps equals the reference applied to the gradients the step left, and a second
// trainer on the same parameters (its moments not in the memory) takes the TypeScript update. Gradient
// clipping's kernels against clipGradients; hasMoments at the memory cap (4 GiB less one page).
import { describe, expect, it } from "vitest";
import { wasm } from "./helpers/wasm.js";
import { build, seeded } from "./helpers/generated.js";
import { optimizerModule, updates } from "../src/emit/wasm/optimizer.js";
import { clipGradients } from "../src/emit/runtime/weights.js";
import { MAX_MEMORY_BYTES, WasmDenseTable, hasMoments, memoryBytes } from "../src/emit/wasm/target.js";

type Floats = Float32Array | Float64Array;

interface Options {
  optimizer: "sgd" | "adam" | "adamw";
  momentum?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** module.ts's TypeScript update, transcribed (after `trainer.steps++`): the reference. */
function reference(
  o: Options,
  steps: number,
  lr: number,
  p: Floats,
  g: Floats,
  mArr: Floats,
  vArr: Floats,
  from: number,
  to: number,
): void {
  const wd = o.weightDecay ?? 0;
  if (o.optimizer === "sgd") {
    const mu = o.momentum ?? 0;
    for (let i = from; i < to; i++) {
      let d = g[i]! + wd * p[i]!;
      if (mu !== 0) {
        const buf = steps === 1 ? d : mu * mArr[i]! + d;
        mArr[i] = buf;
        d = buf;
      }
      p[i] = p[i]! - lr * d;
    }
  } else {
    const b1 = o.beta1 ?? 0.9;
    const b2 = o.beta2 ?? 0.999;
    const eps = o.eps ?? 1e-8;
    const c1 = 1 - Math.pow(b1, steps);
    const c2 = 1 - Math.pow(b2, steps);
    const decoupled = o.optimizer === "adamw";
    for (let i = from; i < to; i++) {
      if (decoupled) p[i] = p[i]! * (1 - lr * wd);
      const d = decoupled ? g[i]! : g[i]! + wd * p[i]!;
      const m = b1 * mArr[i]! + (1 - b1) * d;
      const v = b2 * vArr[i]! + (1 - b2) * d * d;
      mArr[i] = m;
      vArr[i] = v;
      p[i] = p[i]! - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
  }
}

/** Equal bit for bit (every NaN equal to every NaN). */
function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      expect.fail(`${what}[${i}]: ${a[i]} (kernel) ≠ ${b[i]} (TypeScript)`);
    }
  }
}

const cases: { options: Options; kernel: string }[] = [
  { options: { optimizer: "sgd", weightDecay: 0.01 }, kernel: "sgd" },
  { options: { optimizer: "sgd", momentum: 0.9, weightDecay: 0.003 }, kernel: "sgdMomentum" },
  { options: { optimizer: "adam", weightDecay: 0.02, eps: 1e-6 }, kernel: "adam" },
  { options: { optimizer: "adamw", weightDecay: 0.1, beta1: 0.8, beta2: 0.99 }, kernel: "adamw" },
];

describe("optimizer kernels, bit for bit the TypeScript update", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const elt = dtype === "float32" ? 4 : 8;
    const A = dtype === "float32" ? Float32Array : Float64Array;
    it(`${dtype}: the module validates`, () => {
      expect(wasm.validate(optimizerModule(dtype))).toBe(true);
    });
    for (const { options, kernel } of cases) {
      it(`${dtype}: ${kernel}${options.momentum === undefined ? "" : " (and sgdMomentumFirst)"} on every remainder`, () => {
        const memory = new wasm.Memory({ initial: 2 });
        const exports = new wasm.Instance(new wasm.Module(optimizerModule(dtype)), { env: { memory } }).exports;
        const rand = seeded(dtype.length + kernel.length);
        const special = [0, -0, 1e-30, -3e-39, 1e30, -2.5, 1, 0.5];
        for (const n of [0, 1, 2, 3, 4, 5, 8, 9, 1001]) {
          for (const steps of options.momentum === undefined ? [1, 4] : [1, 2, 4]) {
            const bytes = new Uint8Array(memory.buffer);
            bytes.fill(0xa5);
            // Four arrays one element past a 16-byte boundary, three guard elements apart.
            const at = (k: number) => elt + k * (n + 3) * elt;
            const view = (k: number) => new A(memory.buffer, at(k), n);
            const value = (i: number) =>
              i < special.length ? special[i]! : rand() * 2 ** Math.floor(rand() * 20 - 10);
            const arrays = [0, 1, 2, 3].map((k) => {
              const a = view(k);
              for (let i = 0; i < n; i++)
                a[i] = k === 3 ? Math.abs(value((i + 3) % (n + 1))) : value((i + k) % (n + 1));
              return A.from(a);
            });
            const [p, g, m, v] = arrays as [Floats, Floats, Floats, Floats];
            const lr = 0.01 + rand() * 0.1;
            reference(options, steps, lr, p, g, m, v, 0, n);
            const o = { ...options, weightDecay: options.weightDecay ?? 0 };
            const b1 = o.beta1 ?? 0.9;
            const b2 = o.beta2 ?? 0.999;
            const scalars =
              o.optimizer === "sgd"
                ? o.momentum === undefined
                  ? [lr, o.weightDecay]
                  : steps === 1
                    ? [lr, o.weightDecay]
                    : [lr, o.weightDecay, o.momentum]
                : [
                    lr,
                    o.optimizer === "adamw" ? 1 - lr * o.weightDecay : o.weightDecay,
                    b1,
                    1 - b1,
                    b2,
                    1 - b2,
                    1 - Math.pow(b1, steps),
                    1 - Math.pow(b2, steps),
                    o.eps ?? 1e-8,
                  ];
            const name = o.momentum !== undefined && steps === 1 ? "sgdMomentumFirst" : kernel;
            const u = updates.find((x) => x.name === name)!;
            const before = Uint8Array.from(bytes);
            (exports[name] as (...a: number[]) => void)(...u.arrays.map((_, k) => at(k)), n, ...scalars);
            const what = `${name} n=${n} steps=${steps}`;
            expectSame(view(0), p, `${what} p`);
            if (u.arrays.includes("m")) expectSame(view(2), m, `${what} m`);
            if (u.arrays.includes("v")) expectSame(view(3), v, `${what} v`);
            // Nothing else changed: the gradient, the arrays the update does not take, the guards.
            const written = new Set(u.arrays.filter((a) => a !== "g").map((a) => ["p", "g", "m", "v"].indexOf(a)));
            for (let b = 0; b < bytes.length; b++) {
              const k = Math.floor((b - elt) / ((n + 3) * elt));
              const inside = b >= elt && (b - at(k)) / elt < n && written.has(k);
              if (!inside && bytes[b] !== before[b]) expect.fail(`${what}: byte ${b} changed`);
            }
          }
        }
      });
    }
  }
});

describe("gradient clipping's kernels, bit for bit clipGradients", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const elt = dtype === "float32" ? 4 : 8;
    const A = dtype === "float32" ? Float32Array : Float64Array;
    it(`${dtype}: sumSquares and scale over ranges of every remainder`, () => {
      const memory = new wasm.Memory({ initial: 1 });
      const exports = new wasm.Instance(new wasm.Module(optimizerModule(dtype)), { env: { memory } }).exports;
      const sumSquares = exports.sumSquares as (g: number, n: number, sums: number) => void;
      const scale = exports.scale as (g: number, n: number, c: number) => void;
      const rand = seeded(elt);
      const ranges: [number, number][] = [
        [0, 0],
        [0, 5],
        [7, 8],
        [9, 11],
        [12, 15],
        [16, 1016],
        [1017, 1024],
      ];
      for (const maxNorm of [Infinity, 0.5]) {
        const sums = new Float64Array(memory.buffer, 0, 4);
        const at = 32 + elt; // not 16-byte aligned
        const g = new A(memory.buffer, at, 1030);
        for (let i = 0; i < g.length; i++) g[i] = (rand() * 2 ** Math.floor(rand() * 30 - 15)) / 7;
        const expected = A.from(g);
        const norm = clipGradients(expected, ranges, maxNorm);
        // What wasmClipGradients of the generated module does.
        sums.fill(0);
        for (const [from, to] of ranges) sumSquares(at + from * elt, to - from, 0);
        const kernelNorm = Math.sqrt(sums[0]! + sums[2]! + (sums[1]! + sums[3]!));
        expect(kernelNorm).toBe(norm);
        const coefficient = maxNorm / (kernelNorm + 1e-6);
        if (coefficient < 1) for (const [from, to] of ranges) scale(at + from * elt, to - from, coefficient);
        expect(coefficient < 1).toBe(maxNorm === 0.5);
        expectSame(g, expected, `clipped to ${maxNorm}`);
      }
    });
  }
});

interface Trainer {
  gradNorm: number;
  params: Floats;
  grads: Floats;
  m: Floats;
  v: Floats;
  steps: number;
}

interface Module {
  kernelTarget: string;
  paramCount: number;
  inputSize: number;
  outputSize: number;
  params: readonly { name: string; offset: number; size: number; trainable: boolean }[];
  createTrainer(options: object, params?: Floats): Trainer;
  trainStep(trainer: Trainer, x: Floats, target: Floats, n: number): number;
}

/** Dense layers above the unroll limit (so the memory exists), odd sizes, a frozen bias. */
const spec = `model M(x: f32[37]) {
  dense(19) relu
  dense(7, frozen = bias)
  loss mse
}`;

describe("trainStep on --target wasm updates as the TypeScript path does", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const A = dtype === "float32" ? Float32Array : Float64Array;
    for (const { options } of cases) {
      it(`${dtype}: ${options.optimizer}${options.momentum ? " with momentum" : ""}, three steps, clipped`, async () => {
        const m = (await build(spec, { target: "wasm", dtype })).module as unknown as Module;
        expect(m.kernelTarget).toBe("wasm-simd");
        const rand = seeded(11);
        const n = 5;
        const x = new A(n * m.inputSize).map(() => rand());
        const y = new A(n * m.outputSize).map(() => rand());
        const trainer = m.createTrainer({ ...options, lr: 0.05, seed: 2, clipGradNorm: 0.2 });
        // The second trainer on the same parameters keeps its moments apart (the TypeScript update).
        const other = m.createTrainer({ ...options, lr: 0.05 }, trainer.params);
        expect(trainer.m.buffer).toBe(trainer.params.buffer);
        expect(other.m.buffer).not.toBe(trainer.params.buffer);
        for (const t of [trainer, other]) {
          // Moments that are not zeros (as a restored state would leave them): SGD's first step must ignore
          // its momentum buffer, Adam's must read them.
          t.m.set(t.m.map(() => rand()));
          t.v.set(t.v.map(() => Math.abs(rand())));
          for (let step = 1; step <= 3; step++) {
            const p = A.from(t.params);
            const mm = A.from(t.m);
            const vv = A.from(t.v);
            m.trainStep(t, x, y, n);
            // The gradients the step left (clipped) are the ones its update read.
            for (const q of m.params.filter((q) => q.trainable)) {
              reference(options, step, 0.05, p, t.grads, mm, vv, q.offset, q.offset + q.size);
            }
            expect(m.params.filter((q) => !q.trainable).map((q) => q.name)).toEqual(["2.bias"]);
            expectSame(t.params, p, `step ${step} params`);
            expectSame(t.m, mm, `step ${step} m`);
            expectSame(t.v, vv, `step ${step} v`);
          }
        }
        // The norm and the clipped gradients of the first step against clipGradients: an unclipped trainer
        // from the same seed (same gradients) gives the gradients to clip.
        const free = m.createTrainer({ ...options, lr: 0.05, seed: 2 });
        const clipped = m.createTrainer({ ...options, lr: 0.05, seed: 2, clipGradNorm: 0.2 });
        m.trainStep(free, x, y, n);
        m.trainStep(clipped, x, y, n);
        const ranges = m.params.filter((q) => q.trainable).map((q): [number, number] => [q.offset, q.offset + q.size]);
        const g = A.from(free.grads);
        expect(clipped.gradNorm).toBe(clipGradients(g, ranges, 0.2));
        expect(free.gradNorm).toBe(clipped.gradNorm);
        expect(clipped.gradNorm).toBeGreaterThan(0.2);
        expectSame(clipped.grads, g, "clipped gradients");
      });
    }
  }
});

describe("the moments' place in the memory", () => {
  it("is given only when parameters, gradients, scratch and both moments fit under MAX_MEMORY_BYTES", () => {
    const table = new WasmDenseTable("float32");
    table.index(784, 128, true);
    expect(hasMoments(table, 101_770)).toBe(true);
    // 2^28 float32 parameters: 1 GiB each, so parameters, gradients and scratch fit (just over 2 GiB) but
    // two more 1 GiB regions pass the cap (4 GiB less one page).
    expect(memoryBytes(table, 2 ** 28)).toBeLessThan(MAX_MEMORY_BYTES);
    expect(hasMoments(table, 2 ** 28)).toBe(false);
    expect(hasMoments(table, 2 ** 28 - 2 ** 20)).toBe(true);
  });
});
