// The convolution's im2col and col2im WebAssembly kernels (src/emit/wasm/im2col.ts) against a direct
// reading of the definition: column row (c, k…), position (o…) holds x[c, o·stride − pad + k·dilation]
// or 0 outside the input (Caffe's layout), and col2im adds each cell to that element. Geometries cover
// conv1d and conv2d, padding on either side, stride 1 (vector runs, short and long) and > 1, dilation,
// windows hanging past the end, taps whose whole row is padding, float32 and float64, at addresses
// that are not 16-byte aligned. Values are exact copies or single additions, so results must be equal.
// Every byte the kernels must not touch holds a pattern that is checked afterwards.
import { describe, expect, it } from "vitest";
import { type ColumnAxis, type ColumnGeometry, columnKernel } from "../src/emit/wasm/im2col.js";
import { kernelModule } from "../src/emit/wasm/dense.js";
import type { Precision } from "../src/emit/wasm/dense.js";
import { wasm } from "./helpers/wasm.js";

const axis = (big: number, k: number, stride = 1, pad = 0, dil = 1, extra = 0): ColumnAxis => ({
  big,
  k,
  stride,
  pad,
  dil,
  // PyTorch's output size; `extra` < 0 leaves windows out at the end (a valid smaller output)
  small: Math.floor((big + 2 * pad - dil * (k - 1) - 1) / stride) + 1 + extra,
});

const cases: [string, ColumnGeometry][] = [
  ["LeNet conv2 (6×14×14, 5×5)", { channels: 6, axes: [axis(14, 5), axis(14, 5)] }],
  ["3×3 padding 1", { channels: 3, axes: [axis(9, 3, 1, 1), axis(11, 3, 1, 1)] }],
  ["stride 2, padding 1", { channels: 2, axes: [axis(11, 3, 2, 1), axis(10, 3, 2, 1)] }],
  ["dilation [2, 1], padding [1, 2]", { channels: 2, axes: [axis(7, 2, 1, 1, 2), axis(9, 3, 1, 2, 1)] }],
  ["7×7 stride 2 padding 3 (ResNet stem)", { channels: 1, axes: [axis(20, 7, 2, 3), axis(21, 7, 2, 3)] }],
  ["padding larger than the kernel reach", { channels: 2, axes: [axis(5, 2, 1, 3), axis(4, 3, 3, 4)] }],
  ["1×1", { channels: 5, axes: [axis(6, 1), axis(7, 1)] }],
  ["wide rows (long vector runs)", { channels: 2, axes: [axis(3, 2), axis(70, 3, 1, 1)] }],
  ["stride 3 without padding, long rows", { channels: 1, axes: [axis(4, 1), axis(60, 2, 3)] }],
  ["conv1d k5 stride 2 padding 2", { channels: 4, axes: [axis(37, 5, 2, 2)] }],
  ["conv1d same-like (pad 1, k 3)", { channels: 3, axes: [axis(37, 3, 1, 1)] }],
  ["conv1d dilation 3", { channels: 2, axes: [axis(30, 4, 1, 2, 3)] }],
  ["conv1d, windows left out at the end", { channels: 2, axes: [axis(17, 3, 2, 0, 1, -2)] }],
];

function reference(g: ColumnGeometry, x: ArrayLike<number>): number[] {
  const col: number[] = [];
  const big = g.axes.map((a) => a.big);
  const plane = big.reduce((a, b) => a * b, 1);
  const each = (sizes: number[], f: (idx: number[]) => void, idx: number[] = []) => {
    if (idx.length === sizes.length) return f(idx);
    for (let i = 0; i < sizes[idx.length]!; i++) each(sizes, f, [...idx, i]);
  };
  for (let ch = 0; ch < g.channels; ch++) {
    each(
      g.axes.map((a) => a.k),
      (k) =>
        each(
          g.axes.map((a) => a.small),
          (o) => {
            const i = g.axes.map((a, j) => o[j]! * a.stride - a.pad + k[j]! * a.dil);
            const inside = i.every((v, j) => v >= 0 && v < big[j]!);
            let at = ch * plane;
            for (let j = 0; j < i.length; j++) at = at * 1 + i[j]! * big.slice(j + 1).reduce((a, b) => a * b, 1);
            col.push(inside ? x[at]! : 0);
          },
        ),
    );
  }
  return col;
}

/** The index of the input element each column cell reads, or −1 (padding). */
function sources(g: ColumnGeometry): number[] {
  const n = g.channels * g.axes.reduce((a, x) => a * x.big, 1);
  return reference(
    g,
    Array.from({ length: n }, (_, i) => i + 1),
  ).map((v) => v - 1);
}

const rand = (() => {
  let a = 12345;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return (a >>> 8) / 2 ** 24 - 0.5;
  };
})();

describe("im2col and col2im WebAssembly kernels", () => {
  for (const dtype of ["float32", "float64"] as Precision[]) {
    it.each(cases)(`%s (${dtype})`, (_name, g) => {
      const elt = dtype === "float32" ? 4 : 8;
      const Arr = dtype === "float32" ? Float32Array : Float64Array;
      const xLen = g.channels * g.axes.reduce((a, x) => a * x.big, 1);
      const colLen = g.channels * g.axes.reduce((a, x) => a * x.k * x.small, 1);
      const bytes = columnKernel(g, dtype, "fill", "im2col");
      const module = kernelModule([bytes, columnKernel(g, dtype, "add", "col2im")]);
      expect(wasm.validate(module)).toBe(true);
      expect(module.length).toBeLessThanOrEqual(4096);
      const memory = new wasm.Memory({ initial: Math.ceil(((xLen + colLen) * elt + 256) / 65536) + 1 });
      const { exports } = new wasm.Instance(new wasm.Module(module), { env: { memory } });
      const im2col = exports.im2col as (x: number, col: number) => void;
      const col2im = exports.col2im as (x: number, col: number) => void;
      const guard = 0xa5;
      new Uint8Array(memory.buffer).fill(guard);
      const xAddr = elt + 4 * elt; // not 16-byte aligned; a gap before it
      const colAddr = xAddr + (xLen + 5) * elt; // a gap of 5 elements between the arrays
      const x = new Arr(memory.buffer, xAddr, xLen);
      const col = new Arr(memory.buffer, colAddr, colLen);
      for (let i = 0; i < xLen; i++) x[i] = rand();
      const xCopy = Array.from(x);
      im2col(xAddr, colAddr);
      expect(Array.from(col)).toEqual(reference(g, xCopy));
      expect(Array.from(x)).toEqual(xCopy);

      // col2im: x += every cell added to the element it read
      for (let i = 0; i < colLen; i++) col[i] = rand();
      const expected = Array.from(x);
      const from = sources(g);
      for (let i = 0; i < colLen; i++) if (from[i]! >= 0) expected[from[i]!] = expected[from[i]!]! + col[i]!;
      const expectedRounded = Array.from(new Arr(expected));
      const colCopy = Array.from(col);
      col2im(xAddr, colAddr);
      // additions in column order, as the reference's: equal in float64; float32 rounds each addition, so
      // compare against float32 sums made in the same order
      if (dtype === "float64") expect(Array.from(x)).toEqual(expectedRounded);
      else {
        const f = new Float32Array(xCopy);
        for (let i = 0; i < colLen; i++) if (from[i]! >= 0) f[from[i]!] = f[from[i]!]! + col[i]!;
        expect(Array.from(x)).toEqual(Array.from(f));
      }
      expect(Array.from(col)).toEqual(colCopy);
      // nothing outside x and col written
      const bytesView = new Uint8Array(memory.buffer);
      const touched = (i: number) =>
        (i >= xAddr && i < xAddr + xLen * elt) || (i >= colAddr && i < colAddr + colLen * elt);
      let stray = -1;
      for (let i = 0; i < colAddr + (colLen + 64) * elt; i++) if (!touched(i) && bytesView[i] !== guard) stray = i;
      expect(stray).toBe(-1);
    });
  }
});
