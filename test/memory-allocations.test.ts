// The generated module's training memory (`nnc count --batch`, src/count/memory.ts) against what a module
// really allocates: every Float32Array and Int32Array made while importing it, creating a trainer and
// taking one training step at batch n (the workspace is made on the first call), in bytes. Under the
// WebAssembly target (the default, \`auto\`) the parameters and gradients are views of one WebAssembly memory
// (src/emit/wasm/target.ts) instead, and so are the first trainer's optimizer moments: that memory is
// counted, and the figure is the estimate with those arrays replaced by it (parameters, gradients, the
// kernels' scratch rows, room for the moments m and v, whole 64 KiB pages).
import { afterEach, describe, expect, it } from "vitest";
import { modelMemory } from "../src/count/memory.js";
import { checkProgram } from "../src/program/check.js";
import { build } from "./helpers/generated.js";
import { wasm } from "./helpers/wasm.js";

const originals = { Float32Array: globalThis.Float32Array, Int32Array: globalThis.Int32Array };
const wasmMemory = wasm.Memory;
afterEach(() => {
  Object.assign(globalThis, originals);
  (wasm as { Memory: unknown }).Memory = wasmMemory;
});

/** Counts the bytes of every typed array made with a length (not views of a buffer: subarray, …). */
function countAllocations(): { bytes: () => bigint } {
  let bytes = 0n;
  const counting = <T extends typeof Float32Array | typeof Int32Array>(Base: T): T =>
    class extends (Base as typeof Float32Array) {
      constructor(...args: unknown[]) {
        super(...(args as []));
        if (typeof args[0] === "number") bytes += BigInt(args[0]) * BigInt(Base.BYTES_PER_ELEMENT);
      }
    } as unknown as T;
  globalThis.Float32Array = counting(originals.Float32Array);
  globalThis.Int32Array = counting(originals.Int32Array);
  (wasm as { Memory: unknown }).Memory = class extends (
    (wasmMemory as unknown as new (d: { initial: number }) => object)
  ) {
    constructor(descriptor: { initial: number; maximum?: number }) {
      super(descriptor);
      bytes += BigInt(descriptor.initial) * 65536n;
    }
  };
  return { bytes: () => bytes };
}

const specs: Record<string, string> = {
  "dense, dropout": "model M(x: f32[6]) {\n  dense(16)\n  relu\n  dropout(0.2)\n  dense(3)\n\n  loss mse\n}\n",
  "conv, batchnorm, pooling":
    "model M(x: f32[2, 10, 10]) {\n  conv2d(8, 3)\n  batchnorm\n  relu\n  max_pool2d(2)\n  flatten\n  dense(4)\n\n  loss cross_entropy\n}\n",
  "tokens, attention, layernorm":
    "model M(t: token[s <= 5] of 11) {\n  embedding(11, 8)\n  residual {\n    layernorm\n    attention(2, causal = true)\n  }\n  dense(11)\n\n  loss cross_entropy\n}\n",
};

describe("a generated module allocates what `nnc count --batch` says", () => {
  it.each(Object.keys(specs).flatMap((name) => (["ts", "auto"] as const).map((target) => [name, target] as const)))(
    "%s, --target %s, training with Adam and SGD",
    async (name, kernels) => {
      const text = specs[name]!;
      const counted = checkProgram("spec.nn", { readFile: () => ({ ok: true, text }) }, text).value.models[0]!;
      for (const optimizer of ["adam", "sgd"] as const) {
        const n = 3;
        const allocations = countAllocations();
        const { module: m, text: code } = await build(text, { target: kernels });
        const trainer = m.createTrainer({ optimizer, lr: 0.01, seed: 1 });
        // The input is made with the module's own array classes (it checks `instanceof`), and not counted.
        const v = (m as unknown as { inputs: readonly { dtype: string; size: number }[] }).inputs[0]!;
        const before = allocations.bytes();
        const input =
          v.dtype === "token" ? new globalThis.Int32Array(n * v.size) : new globalThis.Float32Array(n * v.size);
        const inputBytes = allocations.bytes() - before;
        const classes = m.outputShape[m.outputShape.length - 1]!;
        const target = name.startsWith("dense")
          ? new Array(n * m.outputSize).fill(0.5)
          : new Array((n * m.outputSize) / classes).fill(1);
        m.trainStep(trainer, input, target, n);
        Object.assign(globalThis, originals);
        (wasm as { Memory: unknown }).Memory = wasmMemory;
        const mem = modelMemory(counted.analysis, counted.figures, { batch: BigInt(n), dtype: "float32" });
        let expected = mem.module.training[optimizer].total;
        const pages = /new wasmApi!\.Memory\(\{ initial: (\d+)/.exec(code);
        expect(pages !== null, "a module with the WebAssembly path").toBe(
          kernels === "auto" && !name.startsWith("dense"),
        );
        // The memory holds the parameters, the gradients and (when they fit, MOMENTS_BYTE) the trainer's
        // moments: m for SGD (allocated with or without momentum), m and v for Adam.
        const moments = code.includes("const MOMENTS_BYTE = ") ? (optimizer === "adam" ? 2n : 1n) : 0n;
        if (pages) expected += BigInt(pages[1]!) * 65536n - (2n + moments) * BigInt(m.paramCount) * 4n;
        expect(allocations.bytes() - inputBytes, `${name}, ${optimizer}`).toBe(expected);
      }
    },
  );
});
