// Attention's per-head products on the WebAssembly target (issue 17 item 2), on the dense layers' SIMD
// kernels (dense.ts) of shape (in hd, out SK) — no kernel of their own. One head of one sample at a time,
// its rows gathered into the scratch area (contiguous, row-major):
//   q_h, dO_h, o_h / dq_h   [T, hd]      k_h, v_h, dk_h, dv_h   [SK, hd]      S / A, dP / dS   [T, SK]
// Forward   S = q_h·k_hᵀ               the forward kernel (x = q_h, W = k_h: dot products along hd)
//           (softmax, mask and dropout in TypeScript over S, A written back with zeros past each row's keys)
//           o_h = A·v_h                 the dx kernel (dy = A, W = v_h: broadcast tiles)
// Backward  dP = dO_h·v_hᵀ              forward kernel
//           dv_h += Aᵀ·dO_h             the dW kernel (accumulating, into zeros)
//           (dS = P ⊙ (dP − Σ P dP) / √hd in TypeScript)
//           dq_h = dS·k_h, dk_h += dSᵀ·q_h   dx and dW kernels
// The kernels know no causal mask: each call computes a whole rectangle of rows × keys, and the softmax
// zeroes what a row does not see. Causal self-attention splits the query rows into 2 blocks (4 from 16
// rows), each on the kernels of the keys its last row sees (kernels/attention.ts rowBlocks): the masked
// square above each block is skipped (a quarter or three eighths of the products), its terms were exact
// zeros. Measured (bench/wasm-attention.mjs) against the generated TypeScript loops, which stay on
// at small sizes: head widths up to 16 with fewer than 64 × 64 scores a head (unrolled TypeScript, faster).
import type { Precision } from "./dense.js";

/** One attention layer's per-head products as the scratch area sees them. */
export interface AttentionShape {
  readonly headDim: number;
  /** Query rows T and key rows SK of a sample. */
  readonly queries: number;
  readonly keys: number;
  readonly dtype: Precision;
}

/** Where one head's buffers lie in the scratch area, in elements from its start (each a whole number of
 *  vectors). */
export interface AttentionScratch {
  readonly q: number;
  readonly k: number;
  readonly v: number;
  readonly dO: number;
  /** o_h in forward, dq_h in backward. */
  readonly o: number;
  readonly dk: number;
  readonly dv: number;
  /** Scores, then the attention weights A. */
  readonly s: number;
  /** dP, then dS. */
  readonly dp: number;
  readonly end: number;
}

export function attentionScratch(s: AttentionShape): AttentionScratch {
  const lanes = s.dtype === "float32" ? 4 : 2;
  const align = (n: number) => Math.ceil(n / lanes) * lanes;
  const tq = align(s.queries * s.headDim);
  const tk = align(s.keys * s.headDim);
  const ts = align(s.queries * s.keys);
  const q = 0;
  const k = q + tq;
  const v = k + tk;
  const dO = v + tk;
  const o = dO + tq;
  const dk = o + tq;
  const dv = dk + tk;
  const sc = dv + tk;
  const dp = sc + ts;
  return { q, k, v, dO, o, dk, dv, s: sc, dp, end: dp + ts };
}

/** Head widths up to this are unrolled over d in the TypeScript per-head code (kernels/attention.ts). */
export const UNROLL_HEAD = 16;

/** Whether a layer's per-head products run on the SIMD kernels: above the head widths the TypeScript code
 *  unrolls (UNROLL_HEAD), or from 64 × 64 scores a head. Measured with bench/wasm-attention.mjs (float32, CPU time,
 *  interleaved; load average 12 on 2 cores): T 16, hd 8 TypeScript 1.8× (forward) and 2.3× (backward)
 *  faster; T 16, hd 16 TypeScript 1.3×; T 64, hd 16 WebAssembly 1.5× and 1.75×; T 16, hd 17 1.6× and
 *  1.9×; T 16, hd 64 4.2× and 5.6×; T 64, hd 64 6.5× and 9.5×. */
export function headsOnWasm(headDim: number, queries: number, keys: number): boolean {
  return headDim > UNROLL_HEAD || queries * keys >= 64 * 64;
}

/** The module-level helpers of the per-head products: a strided matrix's rows gathered into the scratch
 *  area, and the scratch rows added back into a strided matrix. */
export function attentionStaging(F: string): string {
  return `/** Attention, one head on the SIMD kernels: \`rows\` rows of \`width\` values of \`src\` from element \`from\`, \`stride\`
 *  apart, into the heap from element \`to\`, contiguous. */
function wasmGather(heap: ${F}, src: ${F}, from: number, stride: number, rows: number, width: number, to: number): void {
  for (let r = 0; r < rows; r++) heap.set(src.subarray(from + r * stride, from + r * stride + width), to + r * width);
}

/** The heap's contiguous rows from element \`from\` added into \`dst\`'s rows from element \`to\`, \`stride\` apart. */
function wasmScatterAdd(heap: ${F}, from: number, dst: ${F}, to: number, stride: number, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    for (let d = 0, a = from + r * width, b = to + r * stride; d < width; d++) dst[b + d]! += heap[a + d]!;
  }
}`;
}
