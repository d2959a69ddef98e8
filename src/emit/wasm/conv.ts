// WebAssembly SIMD kernels of a convolution (conv1d, conv2d and conv3d, issue 17;
// transposed convolutions run on these too: kernels/conv.ts) as matrix products over one
// sample's im2col columns, on the dense kernels' tiles (dense.ts), once per group (sizes below are a
// group's; a group's channels, weight rows and outputs are consecutive). Layouts, row-major in the memory
// of the parameters (target.ts):
//   W   [OC, K]      the weight: PyTorch's [out, in/groups, k…] is exactly this matrix per group (K = in/groups · Π kernel)
//   col [K, P]       one sample's columns: row (input channel, kernel offsets) holds what that tap reads at
//                    every output position (P = Π output sizes), zeros in the padding (Caffe's layout)
//   y   [OC, P]      one sample's output, channel-major as the model's activations are
//   dcol [K, P]      the gradient of every column cell, added back to the input by col2im
// Forward  y   (+)= W · col          broadcast tiles: 2 channels × 16 positions (f32), no lane sums
// dW           += dy · colᵀ         dot-product tiles along P (dense forward's), accumulated over samples
// dcol          = Wᵀ · dy           broadcast tiles: 2 taps × 16 positions
// im2col and col2im are kernels too (im2col.ts), one pair per geometry, on the sample's input copied into
// the memory (x, or its gradient for col2im). The bias (forward: written into y before the product, which
// then adds to it; backward: the sum of dy's rows) and the copies of a sample in and out of the memory are
// TypeScript in the generated module.
import { type Precision, broadcastKernel, denseForward, kernelModule } from "./dense.js";
import type { FunctionDef } from "./encoder.js";
import { type ColumnGeometry, columnKernel } from "./im2col.js";

/** One convolution as its kernels see it: sizes are a group's (the whole layer's with groups 1). */
export interface ConvShape {
  /** Output channels of a group. */
  readonly outChannels: number;
  /** K: input channels × kernel taps, a row of the weight. */
  readonly taps: number;
  /** P: output positions per channel. */
  readonly plane: number;
  readonly bias: boolean;
  readonly dtype: Precision;
  /** A group's input and its windows, for im2col and col2im (taps = channels · Π kernel, plane = Π small). */
  readonly geometry: ColumnGeometry;
  /** Groups: the kernels run once per group, on consecutive input channels, weight rows and outputs. */
  readonly groups: number;
}

/** The kernels' signatures (byte addresses; `m` unused but for the weight gradient's OC rows). */
export const convSignatures = {
  forward: ["w", "col", "y", "m"],
  backwardWeight: ["dy", "col", "b", "dw", "m"],
  backwardInput: ["w", "dy", "dcol", "m"],
  im2col: ["x", "col"],
  col2im: ["dx", "dcol"],
} as const;

const eltOf = (dtype: Precision) => (dtype === "float32" ? 4 : 8);

function checkShape(s: ConvShape): void {
  for (const v of [s.outChannels, s.taps, s.plane, s.groups]) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`conv kernel: sizes must be positive (${v})`);
  }
  if (8 * Math.max(s.outChannels, s.taps, s.plane) * eltOf(s.dtype) + 16 > 0x7fff_ffff) {
    throw new RangeError("conv kernel: does not fit 32-bit addresses");
  }
  const g = s.geometry;
  const taps = g.channels * g.axes.reduce((a, x) => a * x.k, 1);
  const plane = g.axes.reduce((a, x) => a * x.small, 1);
  if (taps !== s.taps || plane !== s.plane) throw new RangeError("conv kernel: geometry and sizes disagree");
}

/** col ← the columns of the sample at x (im2col.ts). */
export function convIm2col(s: ConvShape, name: string): FunctionDef {
  checkShape(s);
  return columnKernel(s.geometry, s.dtype, "fill", name);
}

/** dx += every cell of dcol, at the input element it was read from (col2im). */
export function convCol2im(s: ConvShape, name: string): FunctionDef {
  checkShape(s);
  return columnKernel(s.geometry, s.dtype, "add", name);
}

/** y[oc, p] (+)= Σ_k W[oc, k] · col[k, p]: adds to y (the bias written there) when the layer has a bias. */
export function convForward(s: ConvShape, name: string): FunctionDef {
  checkShape(s);
  const elt = eltOf(s.dtype);
  return broadcastKernel(
    {
      dtype: s.dtype,
      rows: s.outChannels,
      reduce: s.taps,
      cols: s.plane,
      aRow: s.taps * elt,
      aRed: elt,
      bRed: s.plane * elt,
      cRow: s.plane * elt,
      accumulate: s.bias,
    },
    name,
  );
}

/** dW[oc, k] += Σ_p dy[oc, p] · col[k, p]: dense forward's dot-product tiles with OC rows (the argument m),
 *  P inputs and K outputs. Arguments (dy, col, unused, dw, m = OC). */
export function convBackwardWeight(s: ConvShape, name: string): FunctionDef {
  checkShape(s);
  return denseForward({ inFeatures: s.plane, outFeatures: s.taps, bias: false, dtype: s.dtype }, name, true);
}

/** dcol[k, p] = Σ_oc W[oc, k] · dy[oc, p]. */
export function convBackwardInput(s: ConvShape, name: string): FunctionDef {
  checkShape(s);
  const elt = eltOf(s.dtype);
  return broadcastKernel(
    {
      dtype: s.dtype,
      rows: s.taps,
      reduce: s.outChannels,
      cols: s.plane,
      aRow: elt,
      aRed: s.taps * elt,
      bRed: s.plane * elt,
      cRow: s.plane * elt,
      accumulate: false,
    },
    name,
  );
}

/** Where a convolution's buffers lie in the scratch area, in elements from its start (16-byte aligned):
 *  a group's columns, a sample's y or dy (every group), a group's dcol, and a sample's input (x for im2col)
 *  and input gradient (dx, for col2im). */
export interface ConvScratch {
  readonly col: number;
  readonly y: number;
  readonly dcol: number;
  readonly x: number;
  readonly dx: number;
  readonly end: number;
}

export function convScratch(s: ConvShape): ConvScratch {
  const lanes = s.dtype === "float32" ? 4 : 2;
  const align = (n: number) => Math.ceil(n / lanes) * lanes;
  const y = align(s.taps * s.plane);
  const dcol = y + align(s.groups * s.outChannels * s.plane);
  const x = dcol + align(s.taps * s.plane);
  const g = s.geometry;
  const input = s.groups * g.channels * g.axes.reduce((a, b) => a * b.big, 1);
  const dx = x + align(input);
  return { col: 0, y, dcol, x, dx, end: dx + input };
}

/** The kernels of a convolution: products (forward, backwardWeight, backwardInput) and columns (im2col,
 *  col2im), named by `k`. */
export function convKernelsOf(s: ConvShape, k: number): FunctionDef[] {
  return [
    convForward(s, `convForward${k}`),
    convBackwardWeight(s, `convBackwardWeight${k}`),
    convBackwardInput(s, `convBackwardInput${k}`),
    convIm2col(s, `convIm2col${k}`),
    convCol2im(s, `convCol2im${k}`),
  ];
}

/** Whether each of a convolution's kernels fits a module of `limit` bytes alone (the column kernels unroll
 *  the last axis' taps: a very wide kernel does not, and the layer then stays on TypeScript). */
export function convFits(s: ConvShape, limit: number): boolean {
  return convKernelsOf(s, 0).every((f) => kernelModule([f]).length <= limit);
}
