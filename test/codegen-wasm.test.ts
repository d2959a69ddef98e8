// The WebAssembly target (`nnc build --target wasm|auto`, src/emit/wasm/target.ts): generated modules run
// their dense layers and convolutions (conv1d, conv2d) on embedded SIMD kernels when the parameters live in the module's WebAssembly memory
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

/** Convolutions on the SIMD kernels: padding, stride and dilation (im2col's zero cells and col2im's
 *  dropped ones), a layer without bias, few output channels (the TypeScript path's direct loops), a plane
 *  that is not a whole number of vectors, a depthwise one and a grouped one (2 output channels a group,
 *  stride on one axis), conv1d. */
const convs = `model C(x: f32[3, 11, 10]) {
  conv2d(6, 3, stride = 2, padding = 1) relu
  conv2d(5, [2, 3], padding = [1, 2], dilation = [2, 1], bias = false) tanh
  conv2d(5, 3, groups = 5, padding = 1)
  conv2d(10, [3, 1], stride = [1, 2], groups = 5) relu
  conv2d(2, 1)
  flatten
  dense(7)
  loss mse
}`;

const conv1 = `model D(x: f32[4, 37]) {
  conv1d(8, 5, stride = 2, padding = 2) relu
  conv1d(3, 3, padding = same, bias = false)
  flatten
  loss mse
}`;

/** Weights stored [in, out] (`layout = in_out`, Hugging Face's Conv1D) on the SIMD kernels by transposition
 *  (target.ts inOutKernels): with and without bias, over sequence positions; GPT-2's attention with
 *  separate q/k/v projections [in, out], head width 18 (per-head products on the SIMD kernels too) and the
 *  output projection [in, out]; GPT-2's fused c_attn, one product over the whole matrix on the kernels. */
const inOut = `model G(x: f32[t <= 3, 24]) {
  dense(40, layout = in_out) tanh
  dense(36, layout = in_out, bias = false) relu
  attention(2, head_dim = 18, qkv = separate, layout = in_out, causal = true)
  attention(2, layout = in_out)
  dense(5, layout = in_out)
  loss mse
}`;

/** A transposed tie of an [out, in] weight reads it [in, out]: the tied layer's gradient is added by the
 *  [in, out] kernels to the same tensor as the first layer's by the [out, in] ones. */
const tied = `model T(x: f32[24]) {
  dense(40) as a
  tanh
  dense(24, tie = transpose(a))
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
      ["convs", convs],
      ["conv1d", conv1],
      ["in_out", inOut],
      ["tied", tied],
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

describe("weights stored [in, out] on the SIMD kernels", () => {
  // Calls under `if (arena)` in forward and backward: in_out's three dense layers, the separate q, k and v
  // and both output projections; the fused c_attn is one product (wasmDenseInOutForward3), whose three
  // column blocks are TypeScript calls in its `else` branch.
  // tied: the second layer reads a's [out, in] weight as [in, out].
  it.each([
    ["in_out", inOut, 7, 3],
    ["tied", tied, 1, 0],
  ] as const)("%s: every [in, out] product on wasm, none on ts", async (_name, spec, onWasm, onTs) => {
    const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;
    const wa = (await build(spec, { target: "wasm", dtype: "float32" })).text;
    // (a call that does not fit a line is formatted `if (arena)` / the call / `else` / the call)
    expect(count(wa, /if \(arena\)\s+wasmDenseInOutForward\(arena, /g)).toBe(onWasm);
    expect(count(wa, /if \(arena\)\s+wasmDenseInOutBackward\(arena, /g)).toBe(onWasm);
    // the fused c_attn: one product on the kernels, its three column blocks the TypeScript branch (onTs)
    expect(count(wa, /if \(arena\)\s+wasmDenseInOutForward3\(arena, /g)).toBe(onTs / 3);
    expect(count(wa, /if \(arena\)\s+wasmDenseInOutBackward3\(\s*arena,/g)).toBe(onTs / 3);
    expect(count(wa, /(?<!else\s*)^\s*denseInOutForward\(/gm)).toBe(onTs);
    expect(count(wa, /(?<!else\s*)^\s*denseInOutBackward\(/gm)).toBe(onTs);
    const ts = (await build(spec, { target: "ts", dtype: "float32" })).text;
    expect(ts).not.toContain("wasmDenseInOut");
  });
});

/** Loads a module while `WebAssembly.validate` rejects every module with a 0xFD-prefixed (SIMD) opcode,
 *  as an engine without SIMD128 does. */
async function loadWithoutSimd(spec: string, target: "wasm" | "auto"): Promise<Module> {
  const api = wasm as { validate(bytes: Uint8Array): boolean };
  const real = api.validate.bind(api);
  api.validate = (bytes) => !bytes.includes(0xfd) && real(bytes);
  try {
    return await load(spec, target, "float32");
  } finally {
    api.validate = real;
  }
}

describe("no WebAssembly SIMD", () => {
  it("--target auto takes the TypeScript path, with the TypeScript target's numbers bit for bit", async () => {
    const m = await loadWithoutSimd(mlp, "auto");
    expect(m.kernelTarget).toBe("typescript");
    // parameters in an ordinary array, not a WebAssembly memory
    const p = m.createParams(3);
    expect(p.buffer.byteLength).toBe(m.paramCount * 4);
    const ts = await load(mlp, "ts", "float32");
    const a = run(m, 3, "float32");
    const b = run(ts, 3, "float32");
    for (const k of ["y", "gx", "grads", "after"] as const) expect(a[k]).toEqual(b[k]);
    expect(a.loss).toBe(b.loss);
  });

  it("--target wasm refuses to load, saying why and what to do", async () => {
    await expect(loadWithoutSimd(mlp, "wasm")).rejects.toThrow(
      /built with `nnc build --target wasm` and needs WebAssembly SIMD, .* `--target auto`/,
    );
  });
});

describe("the WebAssembly path's state", () => {
  it.each([
    ["mlp", mlp],
    ["convs", convs],
  ])(
    "%s: createParams, a model's params and grads, and a trainer's grads live in one WebAssembly memory, never grown",
    async (_name, spec) => {
      const m = await load(spec, "auto", "float32");
      const model = m.createModel({ seed: 1 });
      expect(model.params.buffer).toBe(model.grads.buffer);
      expect(model.params.buffer.byteLength % 65536).toBe(0); // a WebAssembly memory's buffer
      const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.1 }, model.params) as unknown as {
        grads: Float32Array;
      };
      expect(trainer.grads.buffer).toBe(model.params.buffer);
      // A batch far beyond the scratch rows grows nothing: the views stay attached.
      const params = model.params;
      const before = Float32Array.from(params);
      const n = 1000;
      const y = m.forward(params, new Float32Array(n * m.inputSize).fill(0.25), n);
      expect(y.length).toBe(n * m.outputSize);
      expect(params.length).toBe(m.paramCount);
      expect(params).toEqual(before);
    },
  );

  it.each([
    ["mlp", mlp],
    ["convs", convs],
  ])("%s: backward into other grads leaves the model's own gradients as they were", async (_name, spec) => {
    const m = await load(spec, "wasm", "float32");
    const model = m.createModel({ seed: 1 });
    const rand = seeded(8);
    const n = 3;
    const x = new Float32Array(n * m.inputSize).map(() => rand() - 0.5);
    const w = new Float32Array(n * m.outputSize).map(() => rand() - 0.5);
    m.forward(model.params, x, n);
    m.backward(model.params, w, model.grads);
    const own = Float32Array.from(model.grads);
    expect(own.some((g) => g !== 0)).toBe(true);
    const other = new Float32Array(m.paramCount).fill(3);
    m.backward(
      model.params,
      w.map((v) => 2 * v),
      other,
    );
    // the kernels run in the arena's memory, but what was in its gradients before the call is still there
    expect(model.grads).toEqual(own);
    // and the other array got the gradients of the doubled output gradient (overwritten, not added to 3)
    expect(
      worst(
        other,
        own.map((g) => 2 * g),
      ),
    ).toBeLessThan(1e-6);
  });

  it.each([
    ["mlp", mlp],
    ["convs", convs],
  ])("%s: refuses bad arguments identically on both targets, before anything changes", async (_name, spec) => {
    const outcomes = [];
    for (const target of ["ts", "wasm"] as const) {
      const m = await load(spec, target, "float32");
      const p = m.createParams(3);
      const n = 4;
      const x = new Float32Array(n * m.inputSize).fill(0.5);
      const y0 = Float32Array.from(m.forward(p, x, n));
      const grads = new Float32Array(m.paramCount).fill(7);
      const trainer = m.createTrainer({ optimizer: "adam", lr: 0.1, seed: 3 }) as unknown as {
        params: Float32Array;
        grads: Float32Array;
      };
      const before = {
        p: Float32Array.from(p),
        grads: Float32Array.from(grads),
        tp: Float32Array.from(trainer.params),
      };
      const errors: string[] = [];
      const attempt = (f: () => unknown) => {
        try {
          f();
          errors.push("no error");
        } catch (e) {
          errors.push(`${(e as Error).name}: ${(e as Error).message}`);
        }
      };
      attempt(() => m.forward(p, x.subarray(1), n));
      attempt(() => m.forward(p.subarray(1), x, n));
      attempt(() => m.forward(p, x, 0));
      attempt(() => m.backward(p, new Float32Array(n * m.outputSize - 1), grads));
      attempt(() => m.backward(p, new Float32Array(n * m.outputSize), grads.subarray(2)));
      attempt(() => m.backward(p, new Float32Array(n * m.outputSize), p));
      attempt(() => m.trainStep(trainer, x, new Float32Array(n * m.outputSize - 1), n));
      attempt(() => m.trainStep(trainer, x.subarray(3), new Float32Array(n * m.outputSize), n));
      expect(p).toEqual(before.p);
      expect(grads).toEqual(before.grads);
      expect(trainer.params).toEqual(before.tp);
      // the last forward's outputs are still there (no workspace was touched)
      expect(Float32Array.from(m.backward(p, new Float32Array(n * m.outputSize), grads)).length).toBe(n * m.inputSize);
      expect(y0.length).toBe(n * m.outputSize);
      outcomes.push(errors);
    }
    expect(outcomes[0]!.every((e) => e !== "no error")).toBe(true);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});

describe("the embedded kernels", () => {
  it("every kernel module is valid WebAssembly of at most 4,096 bytes (browsers' synchronous-compile limit)", async () => {
    // Wide layers: 784 → 10 has the largest forward (two leftover outputs), 1030 → 12 scalar column tails.
    const spec = `model W(x: f32[784]) {\n  dense(1030)\n  relu\n  dense(12)\n  relu\n  dense(10, bias = false)\n}\n`;
    // Convolutions: three kernels per layer, planes of 1,024 and 64 positions, 147 and 576 taps.
    const convSpec = `model V(x: f32[3, 64, 64]) {\n  conv2d(64, 7, stride = 2, padding = 3)\n  relu\n  conv2d(256, 3, stride = 4, padding = 1, bias = false)\n  flatten\n}\n`;
    for (const [dtype, source] of (["float32", "float64"] as const).flatMap((d) => [
      [d, spec] as const,
      [d, convSpec] as const,
    ])) {
      const { text } = await build(source, { dtype, target: "wasm" });
      const section = text.slice(text.indexOf("const wasmModules"), text.indexOf("export const kernelTarget"));
      const modules = [...section.matchAll(/"([A-Za-z0-9+/]+=*)"/g)].map((m) => Buffer.from(m[1]!, "base64"));
      // more kernel bytes than one module may hold: the grouping split them
      expect(modules.reduce((sum, b) => sum + b.length, 0)).toBeGreaterThan(4096);
      for (const bytes of modules) {
        expect(bytes.length).toBeLessThanOrEqual(4096);
        expect(wasm.validate(new Uint8Array(bytes))).toBe(true);
      }
    }
  });
});
