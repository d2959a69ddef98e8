// The dense layer's WebAssembly SIMD kernels (src/emit/wasm/dense.ts) against a float64 reference, on
// seeded random shapes that hit every remainder: m = 0, 1, odd and even; N = 1, below, at and above the
// 4-output tile; K below, at and above a vector and the 16-column (8 for float64) broadcast tile. Every
// emitted module passes `WebAssembly.validate`, and no kernel writes a byte outside its output array.
//
// Error bounds. Every output is a sum of n products (plus a bias or an accumulated value as one more term)
// evaluated in some order in the kernel's precision; for any order, |computed − exact| ≤ γ_n · Σ|terms|
// with γ_n = n·u / (1 − n·u), u the unit roundoff (2^-24 for float32, 2^-53 for float64): Higham, Accuracy
// and Stability of Numerical Algorithms, 2nd ed., §3.1, (3.4)–(3.5). The reference is a float64 sum of the
// same (float32-exact) inputs, with its own error ≤ γ_n(2^-53)·Σ|terms|; the test allows the sum of both.
// A wrong element, a lost term or a doubled one is off by a whole term, far above these bounds (the
// negative control below omits the bias and is caught).
import { describe, expect, it } from "vitest";
import { type WasmMemory, wasm } from "./helpers/wasm.js";
import type { FunctionDef } from "../src/emit/wasm/encoder.js";
import {
  type DenseShape,
  type Precision,
  denseBackwardBias,
  denseBackwardInput,
  denseBackwardWeight,
  denseForward,
  denseLayerModule,
  kernelModule,
} from "../src/emit/wasm/dense.js";

/** mulberry32: a seeded generator, so that every failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const gamma = (n: number, u: number) => (n * u) / (1 - n * u);
const unit = { float32: 2 ** -24, float64: 2 ** -53 } as const;

interface Arena {
  readonly memory: WasmMemory;
  /** Places an array of `length` elements (filled from `values`) at a deliberately unaligned address. */
  place(length: number, values?: (i: number) => number): { addr: number; view: Float32Array | Float64Array };
}

function arena(dtype: Precision, bytes: number): Arena {
  const memory = new wasm.Memory({ initial: Math.ceil(bytes / 65536) + 1 });
  const elt = dtype === "float32" ? 4 : 8;
  // Whatever the kernels must not touch holds a recognisable pattern.
  new Uint8Array(memory.buffer).fill(0xa5);
  let next = elt; // one element past 0, so that no array is 16-byte aligned by accident
  return {
    memory,
    place(length, values) {
      const addr = next;
      next += (length + 3) * elt; // a gap of 3 elements between arrays: overruns land in watched bytes
      const view =
        dtype === "float32"
          ? new Float32Array(memory.buffer, addr, length)
          : new Float64Array(memory.buffer, addr, length);
      if (values) for (let i = 0; i < length; i++) view[i] = values(i);
      return { addr, view };
    },
  };
}

function instantiate(fn: FunctionDef, memory: WasmMemory): (...args: number[]) => void {
  const bytes = kernelModule([fn]);
  expect(wasm.validate(bytes)).toBe(true);
  const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
  return instance.exports[fn.name] as (...args: number[]) => void;
}

/** Runs `call`, then checks that only bytes of `out` changed. */
function runGuarded(memory: WasmMemory, out: { addr: number; view: { byteLength: number } }, call: () => void) {
  const before = new Uint8Array(memory.buffer).slice();
  call();
  const after = new Uint8Array(memory.buffer);
  for (let i = 0; i < after.length; i++) {
    if (i >= out.addr && i < out.addr + out.view.byteLength) continue;
    if (after[i] !== before[i]) throw new Error(`kernel wrote byte ${i} outside its output`);
  }
}

/** Checks every output against the reference and its bound; returns the largest error/bound ratio. */
function compare(
  dtype: Precision,
  got: ArrayLike<number>,
  terms: (i: number) => number[],
): { worst: number; failures: string[] } {
  let worst = 0;
  const failures: string[] = [];
  for (let i = 0; i < got.length; i++) {
    const t = terms(i);
    let exact = 0;
    let abs = 0;
    for (const v of t) {
      exact += v;
      abs += Math.abs(v);
    }
    const bound = (gamma(t.length, unit[dtype]) + gamma(t.length, unit.float64)) * abs;
    const err = Math.abs(got[i]! - exact);
    if (!(err <= bound)) failures.push(`[${i}] got ${got[i]} want ${exact} (error ${err}, bound ${bound})`);
    else if (bound > 0) worst = Math.max(worst, err / bound);
  }
  return { worst, failures };
}

const random = (r: () => number) => () => r() * 2 - 1;

/** Shapes: every remainder class of m, N and K, plus a few random ones. */
function shapes(seed: number, dtype: Precision): [m: number, K: number, N: number][] {
  const r = rng(seed);
  const out: [number, number, number][] = [
    [0, 5, 3],
    [1, 1, 1],
    [1, 784, 10],
    [2, 4, 4],
    [3, 17, 1],
    [32, 33, 9],
    [5, 16, 16],
    [4, 2, 5],
    [7, 3, 6],
    [2, dtype === "float32" ? 19 : 9, 13],
    // Narrow tiles: 2 or 3 outputs left over, 2 or 3 vectors of columns left over (f32: 11 = 2 vectors + 3,
    // 14 = 3 vectors + 2; f64: 11 = 4 + 1 vectors + 1, 14 = 4 + 3 vectors), with 3 or 2 scalar columns.
    [5, 11, 7],
    [4, 14, 11],
    [3, 30, 6],
  ];
  for (let i = 0; i < 14; i++) out.push([Math.floor(r() * 10), 1 + Math.floor(r() * 45), 1 + Math.floor(r() * 21)]);
  return out;
}

describe.each(["float32", "float64"] as const)("dense kernels, %s", (dtype) => {
  for (const [m, K, N] of shapes(dtype === "float32" ? 17 : 29, dtype)) {
    for (const bias of [true, false]) {
      it(`forward m=${m} K=${K} N=${N} bias=${bias}`, () => {
        const shape: DenseShape = { inFeatures: K, outFeatures: N, bias, dtype };
        const r = random(rng(m * 7919 + K * 31 + N));
        const ar = arena(dtype, (m * K + N * K + N + m * N + 64) * 8);
        const x = ar.place(m * K, r);
        const w = ar.place(N * K, r);
        const b = ar.place(N, r);
        const y = ar.place(m * N);
        const f = instantiate(denseForward(shape), ar.memory);
        runGuarded(ar.memory, y, () => f(x.addr, w.addr, b.addr, y.addr, m));
        const { failures } = compare(dtype, y.view, (i) => {
          const row = Math.floor(i / N);
          const n = i % N;
          const t = Array.from({ length: K }, (_, k) => x.view[row * K + k]! * w.view[n * K + k]!);
          if (bias) t.push(b.view[n]!);
          return t;
        });
        expect(failures).toEqual([]);
      });
    }
    for (const accumulate of [false, true]) {
      it(`backward m=${m} K=${K} N=${N} accumulate=${accumulate}`, () => {
        const shape: DenseShape = { inFeatures: K, outFeatures: N, bias: true, dtype };
        const r = random(rng(m * 104729 + K * 37 + N + (accumulate ? 1 : 0)));
        const ar = arena(dtype, (2 * m * K + 2 * N * K + 2 * N + m * N + 64) * 8);
        const x = ar.place(m * K, r);
        const w = ar.place(N * K, r);
        const dy = ar.place(m * N, r);
        const init = accumulate ? r : () => 0;
        const dx = ar.place(m * K, init);
        const dw = ar.place(N * K, init);
        const db = ar.place(N, init);
        const dx0 = dx.view.slice();
        const dw0 = dw.view.slice();
        const db0 = db.view.slice();
        const opts = { accumulate };
        const fx = instantiate(denseBackwardInput(shape, opts), ar.memory);
        const fw = instantiate(denseBackwardWeight(shape, opts), ar.memory);
        const fb = instantiate(denseBackwardBias(shape, opts), ar.memory);
        runGuarded(ar.memory, dx, () => fx(dy.addr, w.addr, dx.addr, m));
        runGuarded(ar.memory, dw, () => fw(dy.addr, x.addr, dw.addr, m));
        runGuarded(ar.memory, db, () => fb(dy.addr, db.addr, m));
        const withInit = (t: number[], v: number) => (accumulate ? [...t, v] : t);
        const gx = compare(dtype, dx.view, (i) => {
          const row = Math.floor(i / K);
          const k = i % K;
          const t = Array.from({ length: N }, (_, n) => dy.view[row * N + n]! * w.view[n * K + k]!);
          return withInit(t, dx0[i]!);
        });
        const gw = compare(dtype, dw.view, (i) => {
          const n = Math.floor(i / K);
          const k = i % K;
          const t = Array.from({ length: m }, (_, row) => dy.view[row * N + n]! * x.view[row * K + k]!);
          return withInit(t, dw0[i]!);
        });
        const gb = compare(dtype, db.view, (n) =>
          withInit(
            Array.from({ length: m }, (_, row) => dy.view[row * N + n]!),
            db0[n]!,
          ),
        );
        expect([...gx.failures, ...gw.failures, ...gb.failures]).toEqual([]);
      });
    }
  }

  it("a kernel that drops a term fails the comparison (negative control)", () => {
    const [m, K, N] = [3, 10, 6];
    const r = random(rng(5));
    const ar = arena(dtype, 4096 * 8);
    const x = ar.place(m * K, r);
    const w = ar.place(N * K, r);
    const b = ar.place(N, r);
    const y = ar.place(m * N);
    // Built without the bias, compared with the reference that has it.
    const f = instantiate(denseForward({ inFeatures: K, outFeatures: N, bias: false, dtype }), ar.memory);
    f(x.addr, w.addr, b.addr, y.addr, m);
    const { failures } = compare(dtype, y.view, (i) => [
      ...Array.from({ length: K }, (_, k) => x.view[Math.floor(i / N) * K + k]! * w.view[(i % N) * K + k]!),
      b.view[i % N]!,
    ]);
    expect(failures.length).toBe(m * N);
  });
});

describe("dense kernel modules", () => {
  it("each kernel stays small, and a layer's module validates and compiles synchronously", () => {
    const sizes: Record<string, number> = {};
    for (const dtype of ["float32", "float64"] as const) {
      for (const [K, N] of [
        [784, 128],
        [5, 3],
        [1024, 1024],
      ]) {
        const shape: DenseShape = { inFeatures: K!, outFeatures: N!, bias: true, dtype };
        const opts = { accumulate: false };
        for (const fn of [
          denseForward(shape),
          denseBackwardInput(shape, opts),
          denseBackwardWeight(shape, opts),
          denseBackwardBias(shape, opts),
        ]) {
          const bytes = kernelModule([fn]);
          expect(wasm.validate(bytes)).toBe(true);
          sizes[`${dtype} ${K}→${N} ${fn.name}`] = bytes.length;
          expect(bytes.length).toBeLessThan(2048);
        }
        const layer = denseLayerModule(shape, opts);
        expect(wasm.validate(layer)).toBe(true);
        expect(() => new wasm.Module(layer)).not.toThrow();
        // Browsers compile synchronously on the main thread only below 4 KB.
        expect(layer.length).toBeLessThan(4096);
      }
    }
  });

  it("is deterministic", () => {
    const shape: DenseShape = { inFeatures: 37, outFeatures: 11, bias: true, dtype: "float32" };
    expect(denseLayerModule(shape, { accumulate: true })).toEqual(denseLayerModule(shape, { accumulate: true }));
  });

  it("refuses shapes it cannot address", () => {
    expect(() => denseForward({ inFeatures: 0, outFeatures: 3, bias: true, dtype: "float32" })).toThrow(RangeError);
    expect(() => denseForward({ inFeatures: 2 ** 28, outFeatures: 3, bias: true, dtype: "float64" })).toThrow(
      RangeError,
    );
  });
});

describe("addresses above 2^31 (MAX_MEMORY_BYTES is 4 GiB less one page)", () => {
  // JavaScript passes an address ≥ 2^31 to an i32 parameter as a negative number with the same bits
  // (ToInt32), and the kernels compare addresses unsigned: the same products as at low addresses. The
  // memory (2 GiB and 2 pages) is committed lazily: only the pages written here cost memory.
  it("the dense kernels give the same bits with their arrays below 2^31 and across it", () => {
    const memory = new wasm.Memory({ initial: 32768 + 2, maximum: 32768 + 2 });
    const shape: DenseShape = { inFeatures: 37, outFeatures: 9, bias: true, dtype: "float32" };
    const forward = instantiate(denseForward(shape), memory);
    const backwardWeight = instantiate(denseBackwardWeight(shape, { accumulate: true }), memory);
    const backwardInput = instantiate(denseBackwardInput(shape, { accumulate: false }), memory);
    const m = 5;
    const r = random(rng(31));
    const data = Float32Array.from({ length: m * 37 + 9 * 37 + 9 + m * 9 }, r);
    /** x, W, b, dy at `base`, then y, dW, dx; returns what the kernels wrote. */
    const run = (base: number) => {
      const f32 = (at: number, n: number) => new Float32Array(memory.buffer, at, n);
      const [x, w, b, dy] = [base, base + m * 37 * 4, base + (m + 9) * 37 * 4, base + ((m + 9) * 37 + 9) * 4];
      const y = base + 4096;
      const dw = y + 4096;
      const dx = dw + 4096;
      f32(base, data.length).set(data);
      f32(dw, 9 * 37).fill(0);
      forward(x, w, b, y, m);
      backwardWeight(dy, x, dw, m);
      backwardInput(dy, w, dx, m);
      return [f32(y, m * 9).slice(), f32(dw, 9 * 37).slice(), f32(dx, m * 37).slice()];
    };
    const low = run(2 ** 31 - 65536);
    expect(low[0]!.some((v) => v !== 0)).toBe(true);
    // x, then W, then dy starting below 2^31 and ending above it: a signed comparison of a loop's pointer
    // with its end (the end negative as an i32) would stop that loop at once
    for (const at of [0, m * 37 * 4, ((m + 9) * 37 + 9) * 4]) expect(run(2 ** 31 - at - 100)).toEqual(low);
  });
});
