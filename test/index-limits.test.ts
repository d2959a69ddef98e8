// Index arithmetic of the generated matrix kernels (the runtime every module with a dense layer above the
// unroll limit, a convolution or an attention shares; src/emit/kernels/dense.ts): the fast paths mask their
// indices to 30 bits, so each must check, on every call, that its operands' whole index range is at most
// 2^30 − 1, and otherwise run plain loops. Tested at the boundaries — the last index at 2^30 − 1 (fast
// path), 2^30, 2^31 and 2^32 (past it) — without allocating gigabytes: the kernels are run on sparse arrays
// (a Proxy over a Map) that hold the few elements a small product touches, wherever they are. Before the
// fix, the packed product wrapped an output index of 2^30 to 0 (issue 12: a dense layer at batch 32,776,
// a convolution at batch 65,540, wrote their late rows over the first ones).
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { denseTiledSource } from "../src/emit/kernels/dense.js";

type Arr = Record<number, number>;
type Kernels = {
  fits30(s0: number, M: number, sa: number, K: number, sk: number): boolean;
  denseTiledForward(
    p: Arr,
    x: Arr,
    y: Arr,
    rows: number,
    IN: number,
    OUT: number,
    W: number,
    B: number,
    y0: number,
    yr: number,
    yc: number,
  ): void;
  denseTiledBackward(
    p: Arr,
    gp: Arr,
    x: Arr,
    gx: Arr,
    gy: Arr,
    rows: number,
    IN: number,
    OUT: number,
    W: number,
    B: number,
    dx: boolean,
    g0: number,
    gr: number,
    gc: number,
  ): void;
  packedGemm(
    C: Arr,
    c0: number,
    cr: number,
    cc: number,
    M: number,
    N: number,
    K: number,
    sa: Arr,
    a0: number,
    as: number,
    ak: number,
    sb: Arr,
    b0: number,
    bk: number,
    bb: number,
    g: Arr,
    B: number,
  ): void;
};

/** The kernels' source as every module has it, compiled to JavaScript and evaluated. */
function kernels(): Kernels {
  const js = ts.transpileModule(denseTiledSource("Float64Array", 8), {
    compilerOptions: { target: ts.ScriptTarget.ES2022 },
  }).outputText;
  return new Function(`${js}\nreturn { fits30, denseTiledForward, denseTiledBackward, packedGemm };`)() as Kernels;
}

/** An array of any length holding `values`; reads elsewhere give 0; every write is recorded. */
function sparse(values: ReadonlyMap<number, number> = new Map()): { array: Arr; writes: Map<number, number> } {
  const writes = new Map<number, number>();
  const index = (key: string | symbol) => (typeof key === "string" && /^\d+$/.test(key) ? Number(key) : undefined);
  const array = new Proxy({} as Arr, {
    get: (_, key) => {
      const i = index(key);
      return i === undefined ? undefined : (writes.get(i) ?? values.get(i) ?? 0);
    },
    set: (_, key, v: number) => {
      const i = index(key);
      if (i === undefined) throw new Error(`not an index: ${String(key)}`);
      writes.set(i, v);
      return true;
    },
  });
  return { array, writes };
}

const k = kernels();
const M30 = 2 ** 30 - 1;

describe("the fast paths' index limit", () => {
  it("fits30 takes the last index s0 + (M − 1)·sa + (K − 1)·sk, up to 2^30 − 1 inclusive", () => {
    expect(k.fits30(M30, 1, 0, 1, 0)).toBe(true);
    expect(k.fits30(2 ** 30, 1, 0, 1, 0)).toBe(false);
    // 8 rows of 1,000 and 8 columns: last index 7,007 past s0.
    expect(k.fits30(M30 - 7_007, 8, 1_000, 8, 1)).toBe(true);
    expect(k.fits30(M30 - 7_006, 8, 1_000, 8, 1)).toBe(false);
    expect(k.fits30(2 ** 31 - 7_007, 8, 1_000, 8, 1)).toBe(false);
    expect(k.fits30(2 ** 32 - 7_007, 8, 1_000, 8, 1)).toBe(false);
    // A batch that takes the rows past the limit: 32,776 rows of 32,768 outputs (dense 1 → 32,768) end at
    // 32,775 · 32,768 + 32,767 = 1,074,003,967 > 2^30 − 1; 32,768 rows end at exactly 2^30 − 1.
    expect(k.fits30(0, 32_776, 32_768, 32_768, 1)).toBe(false);
    expect(k.fits30(0, 32_768, 32_768, 32_768, 1)).toBe(true);
  });
});

describe("the dense kernels past 2^30", () => {
  // y = x Wᵀ + b, 8 rows × 2 inputs → 8 outputs (the packed path: ≥ 8 rows and outputs), small integers
  // so that every sum is exact in any order. Output (r, o) at y0 + r·1,000 + o.
  const rows = 8;
  const IN = 2;
  const OUT = 8;
  const W = 0;
  const B = OUT * IN;
  const pValues = new Map<number, number>();
  for (let i = 0; i < OUT * IN; i++) pValues.set(W + i, (i % 5) - 2);
  for (let o = 0; o < OUT; o++) pValues.set(B + o, o);
  const xValues = new Map<number, number>();
  for (let i = 0; i < rows * IN; i++) xValues.set(i, (i % 7) - 3);
  const expected = (y0: number, yr: number) => {
    const out = new Map<number, number>();
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < OUT; o++) {
        let t = pValues.get(B + o)!;
        for (let i = 0; i < IN; i++) t += xValues.get(r * IN + i)! * pValues.get(W + o * IN + i)!;
        out.set(y0 + r * yr + o, t);
      }
    }
    return out;
  };
  // The last row starting at 2^30 − 8 (its last index 2^30 − 1: the fast path), at 2^30, 2^31 and 2^32
  // (plain loops). The packed product masks each row's first index, so a row starting at 2^30 is where the
  // unchecked kernel wrote to 0.
  for (const lastRow of [2 ** 30 - 8, 2 ** 30, 2 ** 31, 2 ** 32]) {
    it(`forward writes every output where it belongs, the last row at ${lastRow}`, () => {
      const y0 = lastRow - 7 * 1_000;
      const y = sparse();
      k.denseTiledForward(sparse(pValues).array, sparse(xValues).array, y.array, rows, IN, OUT, W, B, y0, 1_000, 1);
      expect([...y.writes].sort((a, b) => a[0] - b[0])).toEqual([...expected(y0, 1_000)].sort((a, b) => a[0] - b[0]));
    });
  }

  // A convolution's product (few output channels over many positions) calls the packed product directly,
  // with the weight in p: here the weight starts at 2^30 − 4 + w (a model with more than 2^30
  // parameters), and the output plane at c0.
  for (const [w, c0] of [
    [-100, 0],
    [0, 0],
    [0, 2 ** 31],
    [2 ** 31, 2 ** 32],
  ] as const) {
    it(`the packed product reads A at ${2 ** 30 - 4 + w} and writes C at ${c0} exactly`, () => {
      const M = 2; // output channels
      const N = 8; // positions
      const K = 3; // receptive field
      const a0 = 2 ** 30 - 4 + w;
      const aValues = new Map<number, number>();
      for (let a = 0; a < M; a++) for (let i = 0; i < K; i++) aValues.set(a0 + a * K + i, a + i + 1);
      const bValues = new Map<number, number>();
      for (let j = 0; j < N; j++) for (let i = 0; i < K; i++) bValues.set(j * K + i, j - i);
      const C = sparse();
      k.packedGemm(
        C.array,
        c0,
        N,
        1,
        M,
        N,
        K,
        sparse(aValues).array,
        a0,
        K,
        1,
        sparse(bValues).array,
        0,
        1,
        K,
        sparse().array,
        -1,
      );
      const want = new Map<number, number>();
      for (let a = 0; a < M; a++) {
        for (let j = 0; j < N; j++) {
          let t = 0;
          for (let i = 0; i < K; i++) t += aValues.get(a0 + a * K + i)! * bValues.get(j * K + i)!;
          want.set(c0 + a * N + j, t);
        }
      }
      expect([...C.writes].sort((a, b) => a[0] - b[0])).toEqual([...want].sort((a, b) => a[0] - b[0]));
    });
  }

  // Backward: the output gradient read at g0 + r·1,000 + o, the last row at 2^30 − 8 (fast path), 2^30,
  // 2^31, 2^32; dW, db and dx against the same sums by hand.
  for (const lastRow of [2 ** 30 - 8, 2 ** 30, 2 ** 31, 2 ** 32]) {
    it(`backward reads the output gradient where it is, the last row at ${lastRow}`, () => {
      const g0 = lastRow - 7 * 1_000;
      const gyValues = new Map<number, number>();
      for (let r = 0; r < rows; r++)
        for (let o = 0; o < OUT; o++) gyValues.set(g0 + r * 1_000 + o, ((r + 2 * o) % 5) - 2);
      const gp = sparse();
      const gx = sparse();
      k.denseTiledBackward(
        sparse(pValues).array,
        gp.array,
        sparse(xValues).array,
        gx.array,
        sparse(gyValues).array,
        rows,
        IN,
        OUT,
        W,
        B,
        true,
        g0,
        1_000,
        1,
      );
      const g = (r: number, o: number) => gyValues.get(g0 + r * 1_000 + o)!;
      const wantGp = new Map<number, number>();
      const wantGx = new Map<number, number>();
      for (let o = 0; o < OUT; o++) {
        let db = 0;
        for (let r = 0; r < rows; r++) db += g(r, o);
        wantGp.set(B + o, db);
        for (let i = 0; i < IN; i++) {
          let dw = 0;
          for (let r = 0; r < rows; r++) dw += g(r, o) * xValues.get(r * IN + i)!;
          wantGp.set(W + o * IN + i, dw);
        }
      }
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < IN; i++) {
          let dx = 0;
          for (let o = 0; o < OUT; o++) dx += g(r, o) * pValues.get(W + o * IN + i)!;
          wantGx.set(r * IN + i, dx);
        }
      }
      const finals = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
      expect(finals(gp.writes)).toEqual(finals(wantGp));
      expect(finals(gx.writes)).toEqual(finals(wantGx));
    });
  }
});
