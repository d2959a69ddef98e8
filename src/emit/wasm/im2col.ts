// WebAssembly kernels of a convolution's im2col and col2im (issue 17 item 2), one per distinct geometry,
// every size, stride, padding and dilation baked in as a constant. They move one sample between its input
// planes `x` [C, big…] (row-major, channel-major as the model's activations) and its columns `col` [K, P]
// in Caffe's layout (conv.ts): row (channel, k_0, …, k_last) holds what that tap reads at every output
// position (o_0, …, o_last), zeros where the window leaves the input.
//   im2col(x, col)   col ← the columns of x
//   col2im(x, col)   x  += every column cell, added to the input element it was read from (cells in the
//                    padding dropped): the input gradient from dcol
// Loops: channels, the kernel taps of the outer axes and the output positions of the outer axes run at
// run time; the last axis' kernel taps are unrolled, so that each tap's valid output range [lo, hi) along
// that axis is a constant. A row of an outer axis that lies outside the input is zeros (im2col) or skipped
// (col2im), tested by one unsigned compare (a negative index is a large unsigned one). Within a row, the
// run [lo, hi) is a strided read of the input: with stride 1, whole vectors (unaligned loads and stores are
// correct); otherwise scalar. So nothing is tested per element.
import { Locals, Ops, type Precision, bump } from "./dense.js";
import { Code, type FunctionDef } from "./encoder.js";

/** One spatial axis of a convolution: big = small · stride − pad + k · dilation. */
export interface ColumnAxis {
  /** Input size along the axis. */
  readonly big: number;
  /** Output size along the axis. */
  readonly small: number;
  readonly k: number;
  readonly stride: number;
  /** Padding before the first element. */
  readonly pad: number;
  readonly dil: number;
}

/** One sample's im2col geometry: input channels (of a group) and the spatial axes. */
export interface ColumnGeometry {
  readonly channels: number;
  readonly axes: readonly ColumnAxis[];
}

const vecBytes = 16;
const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Elements after one step along axis `j` of a row-major array of `sizes`. */
const strideOf = (sizes: readonly number[], j: number): number => prod(sizes.slice(j + 1));

/** The output positions [lo, hi) along an axis whose tap at input offset `off` (= k·dil − pad) lands inside
 *  the input: 0 ≤ o·stride + off < big. */
export function validRange(a: ColumnAxis, off: number): [lo: number, hi: number] {
  const lo = Math.min(a.small, Math.max(0, Math.ceil(-off / a.stride)));
  const hi = Math.max(lo, Math.min(a.small, Math.floor((a.big - 1 - off) / a.stride) + 1));
  return [lo, hi];
}

export function checkGeometry(g: ColumnGeometry, dtype: Precision): void {
  const sizes = [g.channels, ...g.axes.flatMap((a) => [a.big, a.small, a.k, a.stride, a.dil])];
  if (g.axes.length < 1 || !sizes.every((v) => Number.isSafeInteger(v) && v >= 1)) {
    throw new RangeError(`im2col kernel: sizes must be positive integers (${sizes.join(", ")})`);
  }
  if (!g.axes.every((a) => Number.isSafeInteger(a.pad) && a.pad >= 0)) throw new RangeError("im2col kernel: padding");
  const elt = dtype === "float32" ? 4 : 8;
  const taps = g.channels * prod(g.axes.map((a) => a.k));
  const bytes = Math.max(taps * prod(g.axes.map((a) => a.small)), g.channels * prod(g.axes.map((a) => a.big))) * elt;
  if (bytes + vecBytes > 0x7fff_ffff) throw new RangeError("im2col kernel: does not fit 32-bit addresses");
}

/** im2col (`fill`: col ← columns of x) or col2im (`add`: x += col, each cell to the element it read).
 *  Arguments (x, col), byte addresses. */
export function columnKernel(g: ColumnGeometry, dtype: Precision, mode: "fill" | "add", name: string): FunctionDef {
  checkGeometry(g, dtype);
  const c = new Code();
  const o = new Ops(c, dtype);
  const { elt, lanes } = o;
  const [X, COL] = [0, 1];
  const L = new Locals(2);
  const colp = L.add("i32");
  const xc = L.add("i32");
  const xcEnd = L.add("i32");
  const src = L.add("i32");
  const end = L.add("i32");
  const r = g.axes.length;
  const outer = g.axes.slice(0, r - 1);
  const kOf = outer.map(() => L.add("i32"));
  const oOf = outer.map(() => L.add("i32"));
  const iOf = outer.map(() => L.add("i32"));
  const baseOf = outer.map(() => L.add("i32"));
  const vz = L.add("v128");
  const last = g.axes[r - 1]!;
  const bigSizes = g.axes.map((a) => a.big);
  const smallSizes = g.axes.map((a) => a.small);
  const bigPlane = prod(bigSizes);

  /** A run of `n` zeros at colp (fill), colp advanced past it (both modes). */
  const zeros = (n: number) => {
    if (n === 0) return;
    if (mode === "fill") {
      const vectors = Math.floor(n / lanes);
      let at = 0;
      if (vectors > 4) {
        c.get(colp)
          .i32Const(vectors * vecBytes)
          .i32Add()
          .set(end);
        c.loop().get(colp).get(vz).v128Store(0);
        bump(c, colp, vecBytes);
        c.get(colp).get(end).i32LtU().brIf(0).end();
      } else {
        for (let v = 0; v < vectors; v++, at += vecBytes) c.get(colp).get(vz).v128Store(at);
      }
      for (let t = vectors * lanes; t < n; t++, at += elt) {
        c.get(colp);
        o.szero();
        o.sstore(at);
      }
      if (at > 0) bump(c, colp, at);
    } else bump(c, colp, n * elt);
  };

  /** One element (scalar) or vector between src (+ offset) and colp (+ offset). */
  const move = (vector: boolean, srcAt: number, colAt: number) => {
    if (mode === "fill") {
      c.get(colp).get(src);
      if (vector) c.v128Load(srcAt).v128Store(colAt);
      else {
        o.sload(srcAt);
        o.sstore(colAt);
      }
    } else {
      c.get(src).get(src);
      if (vector) c.v128Load(srcAt);
      else o.sload(srcAt);
      c.get(colp);
      if (vector) {
        c.v128Load(colAt);
        o.vadd();
        c.v128Store(srcAt);
      } else {
        o.sload(colAt);
        o.sadd();
        o.sstore(srcAt);
      }
    }
  };

  /** `n` elements of the input read with stride `s` from src, against colp; both advanced past them. */
  const run = (n: number, s: number) => {
    if (n === 0) return;
    if (s === 1) {
      const vectors = Math.floor(n / lanes);
      let at = 0;
      if (vectors > 4) {
        c.get(colp)
          .i32Const(vectors * vecBytes)
          .i32Add()
          .set(end);
        c.loop();
        move(true, 0, 0);
        bump(c, src, vecBytes);
        bump(c, colp, vecBytes);
        c.get(colp).get(end).i32LtU().brIf(0).end();
      } else {
        for (let v = 0; v < vectors; v++, at += vecBytes) move(true, at, at);
      }
      for (let t = vectors * lanes; t < n; t++, at += elt) move(false, at, at);
      if (at > 0) {
        bump(c, src, at);
        bump(c, colp, at);
      }
      return;
    }
    if (n > 8) {
      c.get(colp)
        .i32Const(n * elt)
        .i32Add()
        .set(end);
      c.loop();
      move(false, 0, 0);
      bump(c, src, s * elt);
      bump(c, colp, elt);
      c.get(colp).get(end).i32LtU().brIf(0).end();
    } else {
      for (let t = 0; t < n; t++) move(false, t * s * elt, t * elt);
      bump(c, colp, n * elt);
    }
  };

  /** The output positions of axes j… for last-axis tap `kl`; `base` the local holding the input address
   *  of the outer axes' rows chosen so far (the channel's start for j = 0). */
  const positions = (j: number, kl: number, base: number) => {
    if (j === r - 1) {
      const off = kl * last.dil - last.pad;
      const [lo, hi] = validRange(last, off);
      zeros(lo);
      if (hi > lo) {
        c.get(base)
          .i32Const((lo * last.stride + off) * elt)
          .i32Add()
          .set(src);
        run(hi - lo, last.stride);
      }
      zeros(last.small - hi);
      return;
    }
    const a = outer[j]!;
    const block = prod(smallSizes.slice(j + 1));
    c.i32Const(0).set(oOf[j]!);
    c.loop();
    // i = o·stride + k·dil − pad, inside when 0 ≤ i < big (one unsigned compare)
    c.get(oOf[j]!)
      .i32Const(a.stride)
      .i32Mul()
      .get(kOf[j]!)
      .i32Const(a.dil)
      .i32Mul()
      .i32Add()
      .i32Const(a.pad)
      .i32Sub()
      .tee(iOf[j]!)
      .i32Const(a.big)
      .i32LtU()
      .if();
    c.get(base)
      .get(iOf[j]!)
      .i32Const(strideOf(bigSizes, j) * elt)
      .i32Mul()
      .i32Add()
      .set(baseOf[j]!);
    positions(j + 1, kl, baseOf[j]!);
    c.else();
    zeros(block);
    c.end();
    c.get(oOf[j]!).i32Const(1).i32Add().tee(oOf[j]!).i32Const(a.small).i32LtU().brIf(0).end();
  };

  /** The kernel taps of axes j…, then every output position of each. */
  const taps = (j: number) => {
    if (j === r - 1) {
      for (let kl = 0; kl < last.k; kl++) positions(0, kl, xc);
      return;
    }
    const a = outer[j]!;
    c.i32Const(0).set(kOf[j]!);
    c.loop();
    taps(j + 1);
    c.get(kOf[j]!).i32Const(1).i32Add().tee(kOf[j]!).i32Const(a.k).i32LtU().brIf(0).end();
  };

  c.v128Const(new Array<number>(16).fill(0)).set(vz);
  c.get(COL).set(colp);
  c.get(X).set(xc);
  c.get(X)
    .i32Const(g.channels * bigPlane * elt)
    .i32Add()
    .set(xcEnd);
  c.loop();
  taps(0);
  bump(c, xc, bigPlane * elt);
  c.get(xc).get(xcEnd).i32LtU().brIf(0).end();
  return { name, params: ["i32", "i32"], results: [], locals: L.types, body: c };
}
