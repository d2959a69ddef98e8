// WebAssembly SIMD kernels of a convolution (conv1d and conv2d with groups 1, issue 17) as matrix products
// over one sample's im2col columns, on the dense kernels' tiles (dense.ts). Layouts, row-major in the
// memory of the parameters (target.ts):
//   W   [OC, K]      the weight: PyTorch's [out, in, k…] is exactly this matrix (K = in · Π kernel)
//   col [K, P]       one sample's columns: row (input channel, kernel offsets) holds what that tap reads at
//                    every output position (P = Π output sizes), zeros in the padding (Caffe's layout)
//   y   [OC, P]      one sample's output, channel-major as the model's activations are
//   dcol [K, P]      the gradient of every column cell, added back to the input by col2im
// Forward  y   (+)= W · col          broadcast tiles: 2 channels × 16 positions (f32), no lane sums
// dW           += dy · colᵀ         dot-product tiles along P (dense forward's), accumulated over samples
// dcol          = Wᵀ · dy           broadcast tiles: 2 taps × 16 positions
// The bias (forward: written into y before the product, which then adds to it; backward: the sum of dy's
// rows) and im2col/col2im are TypeScript in the generated module, as the copies in and out of the memory.
import { type Precision, broadcastKernel, denseForward } from "./dense.js";
import type { FunctionDef } from "./encoder.js";

/** One convolution as its kernels see it. */
export interface ConvShape {
  readonly outChannels: number;
  /** K: input channels × kernel taps, a row of the weight. */
  readonly taps: number;
  /** P: output positions per channel. */
  readonly plane: number;
  readonly bias: boolean;
  readonly dtype: Precision;
}

/** The kernels' signatures (byte addresses; `m` unused but for the weight gradient's OC rows). */
export const convSignatures = {
  forward: ["w", "col", "y", "m"],
  backwardWeight: ["dy", "col", "b", "dw", "m"],
  backwardInput: ["w", "dy", "dcol", "m"],
} as const;

const eltOf = (dtype: Precision) => (dtype === "float32" ? 4 : 8);

function checkShape(s: ConvShape): void {
  for (const v of [s.outChannels, s.taps, s.plane]) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`conv kernel: sizes must be positive (${v})`);
  }
  if (8 * Math.max(s.outChannels, s.taps, s.plane) * eltOf(s.dtype) + 16 > 0x7fff_ffff) {
    throw new RangeError("conv kernel: does not fit 32-bit addresses");
  }
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

/** Where a convolution's buffers lie in the scratch area, in elements from its start (16-byte aligned). */
export interface ConvScratch {
  readonly col: number;
  readonly y: number;
  readonly dcol: number;
  readonly end: number;
}

export function convScratch(s: ConvShape): ConvScratch {
  const lanes = s.dtype === "float32" ? 4 : 2;
  const align = (n: number) => Math.ceil(n / lanes) * lanes;
  const y = align(s.taps * s.plane);
  const dcol = y + align(s.outChannels * s.plane);
  return { col: 0, y, dcol, end: dcol + s.taps * s.plane };
}
