// WebAssembly SIMD128 kernels of a dense (linear) layer, generated per layer with its sizes baked in as
// constants and memory offsets. Layouts are PyTorch's, row-major, in one linear memory:
//   x  [m, K]  the layer's input rows          W  [N, K]  weight (`nn.Linear.weight`, [out, in])
//   b  [N]     bias                            y  [m, N]  output rows
//   dy [m, N]  output gradient                 dx [m, K], dW [N, K], db [N]  gradients
// K = inFeatures and N = outFeatures are constants of the kernel; the batch m is an argument, and every
// array is passed as a byte address, so one kernel serves every batch and any placement in memory.
//
// Tiles (from the feasibility study in TARGETS.md: V8 keeps ~15 vector registers and hoists a loop
// iteration's loads, so small tiles with 8 accumulators win, and weights stay in [out, in] layout, never
// packed):
// - forward: 2 rows × 4 outputs, each a dot product along K, one vector accumulator per (row, output)
//   pair: 8 accumulators, 2 + 4 vector loads and 8 multiplies and 8 adds per step of K. Lanes are summed at
//   the end; the K remainder (K mod lanes) is added in scalar code, then the bias. The last row of an odd batch
//   (all of batch 1, a matrix–vector product) runs 1 row × 4 outputs.
// - dx = dy·W and dW = dyᵀ·x: one "broadcast" kernel, C[r, j] = Σ_t A[r, t]·B[t, j]: 2 rows × 4 vectors
//   of C (16 float32 or 8 float64 columns), each step broadcasting one A element per row (`load_splat`)
//   against 4 vectors of a B row: 8 accumulators.
// - db = column sums of dy, 4 vectors of columns at a time.
// Remainders: an odd row runs the 1-row tiles; the outputs (vectors of columns) that do not fill a tile run
// one narrower tile of 1–3 outputs (vectors), and columns short of a vector run scalar tiles, so any
// m ≥ 0, N ≥ 1, K ≥ 1 is exact. float32 uses f32x4, float64 f64x2.
import { Code, type FunctionDef, type MemoryDef, type ValType, encodeModule } from "./encoder.js";

export type Precision = "float32" | "float64";

/** One dense layer as the kernels see it. */
export interface DenseShape {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  readonly dtype: Precision;
}

/** Backward kernels either overwrite their gradient or add to it (`accumulate`, for a tied weight or an
 *  input read by several layers). */
export interface GradientOptions {
  readonly accumulate: boolean;
}

/** The kernels' signatures: every argument an i32 (byte addresses, then the batch m). */
export const denseSignatures = {
  forward: ["x", "w", "b", "y", "m"],
  backwardInput: ["dy", "w", "dx", "m"],
  backwardWeight: ["dy", "x", "dw", "m"],
  backwardBias: ["dy", "db", "m"],
} as const;

const vecBytes = 16;

/** Precision-specific instructions over a `Code`. */
export class Ops {
  readonly elt: number;
  readonly lanes: number;
  readonly scalar: ValType;
  constructor(
    readonly c: Code,
    readonly dtype: Precision,
  ) {
    this.elt = dtype === "float32" ? 4 : 8;
    this.lanes = vecBytes / this.elt;
    this.scalar = dtype === "float32" ? "f32" : "f64";
  }
  vadd(): void {
    if (this.dtype === "float32") this.c.f32x4Add();
    else this.c.f64x2Add();
  }
  vmul(): void {
    if (this.dtype === "float32") this.c.f32x4Mul();
    else this.c.f64x2Mul();
  }
  splatLoad(offset: number): void {
    if (this.dtype === "float32") this.c.v128Load32Splat(offset);
    else this.c.v128Load64Splat(offset);
  }
  sload(offset: number): void {
    if (this.dtype === "float32") this.c.f32Load(offset);
    else this.c.f64Load(offset);
  }
  sstore(offset: number): void {
    if (this.dtype === "float32") this.c.f32Store(offset);
    else this.c.f64Store(offset);
  }
  sadd(): void {
    if (this.dtype === "float32") this.c.f32Add();
    else this.c.f64Add();
  }
  smul(): void {
    if (this.dtype === "float32") this.c.f32Mul();
    else this.c.f64Mul();
  }
  szero(): void {
    if (this.dtype === "float32") this.c.f32Const(0);
    else this.c.f64Const(0);
  }
  /** The sum of the lanes of the vector in `local`, pushed as a scalar: (l0 + l1) + (l2 + l3). */
  hsum(local: number): void {
    const c = this.c;
    const lane = (i: number) => {
      c.get(local);
      if (this.dtype === "float32") c.f32x4ExtractLane(i);
      else c.f64x2ExtractLane(i);
    };
    lane(0);
    lane(1);
    this.sadd();
    if (this.lanes === 4) {
      lane(2);
      lane(3);
      this.sadd();
      this.sadd();
    }
  }
}

/** Locals after the parameters, allocated by type. */
export class Locals {
  readonly types: ValType[] = [];
  constructor(private readonly paramCount: number) {}
  add(t: ValType): number {
    this.types.push(t);
    return this.paramCount + this.types.length - 1;
  }
  many(t: ValType, n: number): number[] {
    return Array.from({ length: n }, () => this.add(t));
  }
}

/** `local += n` for an i32 local. */
export function bump(c: Code, local: number, n: number): void {
  c.get(local).i32Const(n).i32Add().set(local);
}

function checkShape(shape: DenseShape): void {
  const { inFeatures: k, outFeatures: n } = shape;
  if (!Number.isSafeInteger(k) || k < 1 || !Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`dense kernel: features must be positive integers (in ${k}, out ${n})`);
  }
  // Every baked offset is below 8 rows (or 4 vectors) of the larger stride; memarg offsets are u32.
  const elt = shape.dtype === "float32" ? 4 : 8;
  if (8 * Math.max(k, n) * elt + vecBytes > 0x7fff_ffff) {
    throw new RangeError(`dense kernel: ${k}×${n} does not fit 32-bit addresses`);
  }
}

/** Forward: y = x·Wᵀ (+ b), or y += x·Wᵀ with `accumulate` (a convolution's weight gradient summed over
 *  the samples, wasm/conv.ts). Arguments (x, w, b, y, m); b is read only with a bias. */
export function denseForward(shape: DenseShape, name = "forward", accumulate = false): FunctionDef {
  checkShape(shape);
  const K = shape.inFeatures;
  const N = shape.outFeatures;
  const c = new Code();
  const o = new Ops(c, shape.dtype);
  const { elt, lanes } = o;
  const [x, w, b, y, m] = [0, 1, 2, 3, 4];
  const L = new Locals(5);
  const wp = L.add("i32");
  const bp = L.add("i32");
  const yc = L.add("i32");
  const xp = L.add("i32");
  const yp = L.add("i32");
  const xe2 = L.add("i32");
  const xa = L.add("i32");
  const wa = L.add("i32");
  const xe = L.add("i32");
  const wEnd = L.add("i32");
  const xLast = L.add("i32");
  const yLast = L.add("i32");
  const vz = L.add("v128");
  const acc = L.many("v128", 8);
  const xv = L.many("v128", 2);
  const wv = L.add("v128");
  const xs = K * elt; // row stride of x and W
  const ys = N * elt; // row stride of y
  const k4 = Math.floor(K / lanes) * lanes;
  const kr = K - k4;

  const tile = (R: number, C: number) => {
    const a = (r: number, j: number) => acc[r * 4 + j]!;
    for (let r = 0; r < R; r++) for (let j = 0; j < C; j++) c.get(vz).set(a(r, j));
    c.get(xp).set(xa).get(wp).set(wa);
    if (k4 > 0) {
      c.get(xp)
        .i32Const(k4 * elt)
        .i32Add()
        .set(xe);
      c.loop();
      for (let r = 0; r < R; r++)
        c.get(xa)
          .v128Load(r * xs)
          .set(xv[r]!);
      for (let j = 0; j < C; j++) {
        c.get(wa)
          .v128Load(j * xs)
          .set(wv);
        for (let r = 0; r < R; r++) {
          c.get(a(r, j)).get(xv[r]!).get(wv);
          o.vmul();
          o.vadd();
          c.set(a(r, j));
        }
      }
      bump(c, xa, vecBytes);
      bump(c, wa, vecBytes);
      c.get(xa).get(xe).i32LtU().brIf(0).end();
    }
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < C; j++) {
        c.get(yp);
        if (k4 > 0) o.hsum(a(r, j));
        else o.szero();
        for (let t = 0; t < kr; t++) {
          c.get(xa);
          o.sload(r * xs + t * elt);
          c.get(wa);
          o.sload(j * xs + t * elt);
          o.smul();
          o.sadd();
        }
        if (shape.bias) {
          c.get(bp);
          o.sload(j * elt);
          o.sadd();
        }
        if (accumulate) {
          c.get(yp);
          o.sload(r * ys + j * elt);
          o.sadd();
        }
        o.sstore(r * ys + j * elt);
      }
    }
  };

  /** Row pairs of the output columns at `yc`: 2-row tiles while two rows are left. */
  const rowPairs = (C: number) => {
    c.get(x).set(xp).get(yc).set(yp);
    c.get(m)
      .i32Const(1)
      .i32ShrU()
      .i32Const(2 * xs)
      .i32Mul()
      .get(x)
      .i32Add()
      .set(xe2);
    c.loop();
    tile(2, C);
    bump(c, xp, 2 * xs);
    bump(c, yp, 2 * ys);
    c.get(xp).get(xe2).i32LtU().brIf(0).end();
  };

  /** Output columns from `yBase` in tiles of `width` (then one narrower tile), each over rows by `rowsOf`. */
  const columns = (width: number, yBase: number, rowsOf: (C: number) => void) => {
    c.get(w).set(wp).get(b).set(bp).get(yBase).set(yc);
    const full = Math.floor(N / width) * width;
    for (const [count, C] of [
      [full / width, width],
      [N === full ? 0 : 1, N - full], // one narrower tile for the outputs left
    ] as const) {
      if (count === 0) continue;
      c.get(wp)
        .i32Const(count * C * xs)
        .i32Add()
        .set(wEnd);
      c.loop();
      rowsOf(C);
      bump(c, wp, C * xs);
      bump(c, bp, C * elt);
      bump(c, yc, C * elt);
      c.get(wp).get(wEnd).i32LtU().brIf(0).end();
    }
  };

  c.v128Const(new Array<number>(16).fill(0)).set(vz);
  // Pairs of rows: 2 rows × 4 outputs.
  c.get(m).i32Const(2).i32GeU().if();
  columns(4, y, rowPairs);
  c.end();
  // The last row of an odd batch (all of batch 1, a matrix–vector product): 1 row × 4 outputs. 1 × 8 (8
  // accumulators) ran at a fifth of the speed, 1 × 6 within noise of 1 × 4 (bench, 2026-12-05): V8 loads
  // a whole iteration's operands before using them, and 8 loads + 8 accumulators spill.
  c.get(m).i32Const(1).i32And().if();
  c.get(m).i32Const(1).i32Sub().i32Const(xs).i32Mul().get(x).i32Add().set(xLast);
  c.get(m).i32Const(1).i32Sub().i32Const(ys).i32Mul().get(y).i32Add().set(yLast);
  columns(4, yLast, (C) => {
    c.get(xLast).set(xp).get(yc).set(yp);
    tile(1, C);
  });
  c.end();
  return { name, params: ["i32", "i32", "i32", "i32", "i32"], results: [], locals: L.types, body: c };
}

/** C[r, j] (+)= Σ_t A[r, t]·B[t, j] over J columns, with byte strides baked in; R and T are constants or
 *  the batch argument. */
export interface Broadcast {
  readonly dtype: Precision;
  readonly rows: number | "m";
  readonly reduce: number | "m";
  readonly cols: number;
  readonly aRow: number;
  readonly aRed: number;
  readonly bRed: number;
  readonly cRow: number;
  readonly accumulate: boolean;
}

/** Arguments (A, B, C, m). */
export function broadcastKernel(k: Broadcast, name: string): FunctionDef {
  const c = new Code();
  const o = new Ops(c, k.dtype);
  const { elt, lanes } = o;
  const [A, B, C, m] = [0, 1, 2, 3];
  const L = new Locals(4);
  const bj = L.add("i32");
  const cj = L.add("i32");
  const ap = L.add("i32");
  const cp = L.add("i32");
  const pairEnd = L.add("i32");
  const a = L.add("i32");
  const bb = L.add("i32");
  const aEnd = L.add("i32");
  const jEnd = L.add("i32");
  const vz = L.add("v128");
  const acc = L.many("v128", 8);
  const av = L.many("v128", 2);
  const bv = L.add("v128");
  const sacc = L.many(o.scalar, 2);
  const sav = L.many(o.scalar, 2);
  const sbv = L.add(o.scalar);

  /** Pushes count·stride, count a constant or the batch. */
  const times = (count: number | "m", stride: number) => {
    if (count === "m") c.get(m).i32Const(stride).i32Mul();
    else c.i32Const(count * stride);
  };

  const tile = (R: number, V: number, vector: boolean) => {
    const accOf = (r: number, v: number) => (vector ? acc[r * 4 + v]! : sacc[r]!);
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < V; v++) {
        if (k.accumulate) {
          c.get(cp);
          if (vector) c.v128Load(r * k.cRow + v * vecBytes);
          else o.sload(r * k.cRow);
        } else if (vector) c.get(vz);
        else o.szero();
        c.set(accOf(r, v));
      }
    }
    c.get(ap).set(a).get(bj).set(bb);
    c.get(ap);
    times(k.reduce, k.aRed);
    c.i32Add().set(aEnd);
    const guarded = k.reduce === "m";
    if (k.reduce === 0) return storeTile(R, V, vector, accOf);
    if (guarded) c.block().get(a).get(aEnd).i32GeU().brIf(0);
    c.loop();
    for (let r = 0; r < R; r++) {
      c.get(a);
      if (vector) o.splatLoad(r * k.aRow);
      else o.sload(r * k.aRow);
      c.set(vector ? av[r]! : sav[r]!);
    }
    for (let v = 0; v < V; v++) {
      c.get(bb);
      if (vector) c.v128Load(v * vecBytes);
      else o.sload(0);
      c.set(vector ? bv : sbv);
      for (let r = 0; r < R; r++) {
        c.get(accOf(r, v))
          .get(vector ? av[r]! : sav[r]!)
          .get(vector ? bv : sbv);
        if (vector) {
          o.vmul();
          o.vadd();
        } else {
          o.smul();
          o.sadd();
        }
        c.set(accOf(r, v));
      }
    }
    bump(c, a, k.aRed);
    bump(c, bb, k.bRed);
    c.get(a).get(aEnd).i32LtU().brIf(0).end();
    if (guarded) c.end();
    storeTile(R, V, vector, accOf);
  };

  const storeTile = (R: number, V: number, vector: boolean, accOf: (r: number, v: number) => number) => {
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < V; v++) {
        c.get(cp).get(accOf(r, v));
        if (vector) c.v128Store(r * k.cRow + v * vecBytes);
        else o.sstore(r * k.cRow);
      }
    }
  };

  const rows = (V: number, vector: boolean) => {
    c.get(A).set(ap).get(cj).set(cp);
    if (k.rows === "m") {
      c.get(m)
        .i32Const(1)
        .i32ShrU()
        .i32Const(2 * k.aRow)
        .i32Mul()
        .get(A)
        .i32Add()
        .set(pairEnd);
      c.block().loop();
      c.get(ap).get(pairEnd).i32GeU().brIf(1);
    } else if (k.rows >= 2) {
      c.get(A)
        .i32Const(Math.floor(k.rows / 2) * 2 * k.aRow)
        .i32Add()
        .set(pairEnd);
      c.loop();
    }
    if (k.rows === "m" || k.rows >= 2) {
      tile(2, V, vector);
      bump(c, ap, 2 * k.aRow);
      bump(c, cp, 2 * k.cRow);
      if (k.rows === "m") c.br(0).end().end();
      else c.get(ap).get(pairEnd).i32LtU().brIf(0).end();
    }
    if (k.rows === "m") {
      c.get(m).i32Const(1).i32And().if();
      tile(1, V, vector);
      c.end();
    } else if (k.rows % 2 === 1) tile(1, V, vector);
  };

  c.v128Const(new Array<number>(16).fill(0)).set(vz);
  c.get(B).set(bj).get(C).set(cj);
  const vectors = Math.floor(k.cols / lanes);
  const groups: [count: number, V: number, vector: boolean, width: number][] = [
    [Math.floor(vectors / 4), 4, true, 4 * vecBytes],
    [vectors % 4 === 0 ? 0 : 1, vectors % 4, true, (vectors % 4) * vecBytes], // one narrower tile
    [k.cols - vectors * lanes, 1, false, elt],
  ];
  for (const [count, V, vector, width] of groups) {
    if (count === 0) continue;
    c.get(cj)
      .i32Const(count * width)
      .i32Add()
      .set(jEnd);
    c.loop();
    rows(V, vector);
    bump(c, bj, width);
    bump(c, cj, width);
    c.get(cj).get(jEnd).i32LtU().brIf(0).end();
  }
  return { name, params: ["i32", "i32", "i32", "i32"], results: [], locals: L.types, body: c };
}

/** Input gradient dx = dy·W. Arguments (dy, w, dx, m). */
export function denseBackwardInput(shape: DenseShape, opts: GradientOptions, name = "backwardInput"): FunctionDef {
  checkShape(shape);
  const elt = shape.dtype === "float32" ? 4 : 8;
  const K = shape.inFeatures;
  const N = shape.outFeatures;
  return broadcastKernel(
    {
      dtype: shape.dtype,
      rows: "m",
      reduce: N,
      cols: K,
      aRow: N * elt,
      aRed: elt,
      bRed: K * elt,
      cRow: K * elt,
      accumulate: opts.accumulate,
    },
    name,
  );
}

/** Weight gradient dW = dyᵀ·x. Arguments (dy, x, dw, m). */
export function denseBackwardWeight(shape: DenseShape, opts: GradientOptions, name = "backwardWeight"): FunctionDef {
  checkShape(shape);
  const elt = shape.dtype === "float32" ? 4 : 8;
  const K = shape.inFeatures;
  const N = shape.outFeatures;
  return broadcastKernel(
    {
      dtype: shape.dtype,
      rows: N,
      reduce: "m",
      cols: K,
      aRow: elt,
      aRed: N * elt,
      bRed: K * elt,
      cRow: K * elt,
      accumulate: opts.accumulate,
    },
    name,
  );
}

/** Bias gradient db[n] = Σ_m dy[m, n]. Arguments (dy, db, m). */
export function denseBackwardBias(shape: DenseShape, opts: GradientOptions, name = "backwardBias"): FunctionDef {
  checkShape(shape);
  const N = shape.outFeatures;
  const c = new Code();
  const o = new Ops(c, shape.dtype);
  const { elt, lanes } = o;
  const [dy, db, m] = [0, 1, 2];
  const L = new Locals(3);
  const bj = L.add("i32");
  const cj = L.add("i32");
  const a = L.add("i32");
  const aEnd = L.add("i32");
  const jEnd = L.add("i32");
  const vz = L.add("v128");
  const acc = L.many("v128", 4);
  const sacc = L.add(o.scalar);
  const ys = N * elt;
  c.v128Const(new Array<number>(16).fill(0)).set(vz);
  c.get(dy).set(bj).get(db).set(cj);
  const vectors = Math.floor(N / lanes);
  const groups: [count: number, V: number, vector: boolean, width: number][] = [
    [Math.floor(vectors / 4), 4, true, 4 * vecBytes],
    [vectors % 4 === 0 ? 0 : 1, vectors % 4, true, (vectors % 4) * vecBytes],
    [N - vectors * lanes, 1, false, elt],
  ];
  for (const [count, V, vector, width] of groups) {
    if (count === 0) continue;
    c.get(cj)
      .i32Const(count * width)
      .i32Add()
      .set(jEnd);
    c.loop();
    for (let v = 0; v < V; v++) {
      if (opts.accumulate) {
        c.get(cj);
        if (vector) c.v128Load(v * vecBytes);
        else o.sload(0);
      } else if (vector) c.get(vz);
      else o.szero();
      c.set(vector ? acc[v]! : sacc);
    }
    c.get(bj).set(a);
    c.get(m).i32Const(ys).i32Mul().get(bj).i32Add().set(aEnd);
    c.block().get(a).get(aEnd).i32GeU().brIf(0).loop();
    for (let v = 0; v < V; v++) {
      c.get(vector ? acc[v]! : sacc).get(a);
      if (vector) {
        c.v128Load(v * vecBytes);
        o.vadd();
      } else {
        o.sload(0);
        o.sadd();
      }
      c.set(vector ? acc[v]! : sacc);
    }
    bump(c, a, ys);
    c.get(a).get(aEnd).i32LtU().brIf(0).end().end();
    for (let v = 0; v < V; v++) {
      c.get(cj).get(vector ? acc[v]! : sacc);
      if (vector) c.v128Store(v * vecBytes);
      else o.sstore(0);
    }
    bump(c, bj, width);
    bump(c, cj, width);
    c.get(cj).get(jEnd).i32LtU().brIf(0).end();
  }
  return { name, params: ["i32", "i32", "i32"], results: [], locals: L.types, body: c };
}

/** The memory every kernel module imports: `env.memory`, created and viewed by the host. */
export const importedMemory: MemoryDef = { import: { module: "env", name: "memory" }, minPages: 1 };

/** A module of kernels over the imported memory. */
export function kernelModule(functions: readonly FunctionDef[], memory: MemoryDef = importedMemory): Uint8Array {
  return encodeModule({ memory, functions });
}

/** The four kernels of one dense layer (forward, backwardInput, backwardWeight and, with a bias,
 *  backwardBias) in one module. */
export function denseLayerModule(shape: DenseShape, opts: GradientOptions): Uint8Array {
  const functions = [
    denseForward(shape),
    denseBackwardInput(shape, opts),
    denseBackwardWeight(shape, opts),
    ...(shape.bias ? [denseBackwardBias(shape, opts)] : []),
  ];
  return kernelModule(functions);
}
