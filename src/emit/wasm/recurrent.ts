// Recurrent layers on the WebAssembly target (issue 17 item 2): the input projection W_ih x + b_ih of every
// position of a sequence is one dense product [T, IN] × [G·H, IN]ᵀ, run on the dense SIMD kernels of the
// layer shape (IN → G·H, bias) in the module's table (dense.ts), CHUNK positions at a time through the
// scratch rows (the same rows, and so the same scratch size, as a dense layer of that shape). Backward
// collects the per-step gate gradients dp of CHUNK positions in the scratch rows of dy as backpropagation
// through time produces them, and runs dW_ih += dpᵀ x, db_ih += Σ dp and dx += dp W_ih on those rows in
// three kernel calls. The hidden-to-hidden product stays in TypeScript, step by step (a matrix–vector
// product per sample and step; docs/performance.md has the measurement).
//
// These functions write the generated TypeScript of those two pieces; kernels/recurrent.ts places them.
// The generated code reads the module-level `arena` (its parameters are resident), `CHUNK`, `SCRATCH_BYTE`
// and `GRADS_BYTE` of target.ts.

/** Where a projection reads its rows and writes its outputs, all per sample, as generated expressions. */
export interface Projection {
  /** The dense kernels' index in the module's table (EmitCtx.wasmDense). */
  readonly k: number;
  readonly dtype: "float32" | "float64";
  /** Positions of the sequence. */
  readonly T: number;
  /** Input width and gate rows G·H. */
  readonly IN: number;
  readonly GH: number;
  /** Element offsets of weight_ih and of b_ih (−1: none) in the parameters. */
  readonly W: number;
  readonly B: number;
  /** The layer's input array and the expression of this sample's first row in it (rows IN apart). */
  readonly input: string;
  readonly inputBase: string;
  /** The hidden-to-hidden product's kernels (a dense shape R → G·H without bias), when it runs on them:
   *  W_hh at element `WH`, h of `R` elements. */
  readonly hidden?: { readonly k: number; readonly WH: number; readonly R: number };
}

/** Before the step loop: what `hiddenStep` reads. */
export function hiddenSetup(p: Projection): string {
  const elt = elementBytes(p.dtype);
  const h = p.hidden!;
  return `const hheap = arena.heap;
const hidden = arena.kernels[${h.k}]!.forward;
const hy = SCRATCH_BYTE / ${elt} + CHUNK * ${h.R}; // W_hh h of the step`;
}

/** At the start of a step after the first: W_hh h_prev on the SIMD kernel (one row), into \`hheap[hy …]\`. */
export function hiddenStep(p: Projection, seq: string): string {
  const elt = elementBytes(p.dtype);
  const h = p.hidden!;
  return `// W_hh h_prev on the SIMD kernel (one row of ${h.R})
    if (s > 0) {
      hheap.set(${seq}.subarray(hp, hp + ${h.R}), SCRATCH_BYTE / ${elt});
      hidden(SCRATCH_BYTE, ${h.WH * elt}, 0, hy * ${elt}, 1);
    }`;
}

import { CHUNK } from "./target.js";

const elementBytes = (dtype: "float32" | "float64") => (dtype === "float32" ? 4 : 8);

/** Forward: `dest[destBase + t·stride + j] = (W_ih x_t + b_ih)[j]` for every position t and gate row j. */
export function projectForward(p: Projection, dest: string, destBase: string, stride: number): string {
  const elt = elementBytes(p.dtype);
  const { T, IN, GH } = p;
  const copyOut =
    stride === GH
      ? `${dest}.set(heap.subarray(ys, ys + m * ${GH}), ${destBase} + t0 * ${GH});`
      : `for (let t = 0, yt = ys; t < m; t++, yt += ${GH}) ${dest}.set(heap.subarray(yt, yt + ${GH}), ${destBase} + (t0 + t) * ${stride});`;
  return `// W_ih x + b_ih at every position: one product [${T}, ${IN}] × [${GH}, ${IN}]ᵀ on the SIMD kernels, CHUNK positions at a time
{
  const heap = arena.heap;
  const forward = arena.kernels[${p.k}]!.forward;
  const ys = SCRATCH_BYTE / ${elt} + CHUNK * ${IN};
  for (let t0 = 0; t0 < ${T}; t0 += CHUNK) {
    const m = Math.min(CHUNK, ${T} - t0);
    heap.set(${p.input}.subarray(${p.inputBase} + t0 * ${IN}, ${p.inputBase} + (t0 + m) * ${IN}), SCRATCH_BYTE / ${elt});
    forward(SCRATCH_BYTE, ${p.W * elt}, ${p.B < 0 ? 0 : p.B * elt}, ys * ${elt}, m);
    ${copyOut}
  }
}`;
}

/** Backward, inside the step loop after the step's gate gradients are in `work[dp …]`: stage them in the
 *  scratch rows of dy at row `t % CHUNK`; when the CHUNK positions (or the sequence's last ones) are in,
 *  dW_ih += dpᵀ x and db_ih += Σ dp into the arena's gradients, and, when `dx` (a generated expression),
 *  `gin[ginBase + t·IN + i] += (dp W_ih)[i]`. `descending`: positions come T−1 first (a forward direction). */
export function projectBackward(
  p: Projection,
  work: string,
  dp: string,
  gin: string,
  ginBase: string,
  dx: string,
  descending: boolean,
): string {
  const elt = elementBytes(p.dtype);
  const { T, IN, GH } = p;
  const full = descending ? "t % CHUNK === 0" : `t % CHUNK === CHUNK - 1 || t === ${T - 1}`;
  const input = `kernels.backwardInput(gs * ${elt}, ${p.W * elt}, ds * ${elt}, m);
        for (let i = 0, g = ${ginBase} + t0 * ${IN}, e = m * ${IN}; i < e; i++) ${gin}[g + i]! += heap[ds + i]!;`;
  return `// dp of W_ih x + b_ih to the scratch rows; every CHUNK positions, the W_ih side as three SIMD products:
    // dW_ih += dpᵀ x, db_ih += Σ dp, dx += dp W_ih
    for (let j = 0, q = gs + (t % CHUNK) * ${GH}; j < ${GH}; j++) heap[q + j] = ${work}[${dp} + j]!;
    if (${full}) {
      const t0 = t - (t % CHUNK);
      const m = Math.min(CHUNK, ${T} - t0);
      heap.set(${p.input}.subarray(${p.inputBase} + t0 * ${IN}, ${p.inputBase} + (t0 + m) * ${IN}), xs);
      kernels.backwardWeight(gs * ${elt}, xs * ${elt}, GRADS_BYTE + ${p.W * elt}, m);${p.B >= 0 ? `\n      kernels.backwardBias(gs * ${elt}, GRADS_BYTE + ${p.B * elt}, m);` : ""}
      ${dx === "true" ? input : `if (${dx}) {\n        ${input}\n      }`}
    }`;
}

/** The constants `projectBackward`'s code reads, declared once before the step loop. */
export function projectBackwardSetup(p: Projection): string {
  const elt = elementBytes(p.dtype);
  return `const heap = arena.heap;
  const kernels = arena.kernels[${p.k}]!;
  const xs = SCRATCH_BYTE / ${elt}; // CHUNK rows of x
  const gs = xs + CHUNK * ${p.IN}; // CHUNK rows of dp
  const ds = gs + CHUNK * ${p.GH}; // CHUNK rows of dx${hiddenBackwardFits(p) ? `\n  const hkernels = arena.kernels[${p.hidden!.k}]!;` : ""}`;
}

/** Whether backward's hidden-to-hidden side fits beside the collected gate gradients: its row of dp, h_prev
 *  and dh_prev go in the scratch rows of dx (CHUNK · IN elements), free between flushes. */
export function hiddenBackwardFits(p: Projection): boolean {
  return p.hidden !== undefined && CHUNK * p.IN >= p.GH + 2 * p.hidden.R;
}

/** Backward's hidden-to-hidden side of one step on the SIMD kernels (after \`projectBackward\`'s code, whose
 *  constants it reads): the step's dp of W_hh's rows (\`dpH\` of \`j\`, the first \`rows\` rows; the rest 0)
 *  into the scratch, db_hh += dp (TypeScript, \`BH\` −1 for none), and for s > 0 dW_hh += dp h_prevᵀ into the
 *  arena's gradients and dh_prev (\`work[DH …]\`) += W_hhᵀ dp. */
export function hiddenBackward(
  p: Projection,
  dpH: string,
  rows: number,
  BH: number,
  seq: string,
  work: string,
  DH: number,
): string {
  const elt = elementBytes(p.dtype);
  const h = p.hidden!;
  const { GH } = p;
  const bias = BH >= 0 ? `\n      gp[${BH === 0 ? "j" : `${BH} + j`}]! += d;` : "";
  return `// W_hh side: db_hh += dp; for s > 0 on the SIMD kernels, dW_hh += dp h_prevᵀ and dh_prev += W_hhᵀ dp
    for (let j = 0; j < ${GH}; j++) {
      ${rows < GH ? `const d = j < ${rows} ? ${dpH} : 0;` : `const d = ${dpH};`}
      heap[ds + j] = d;${bias}
    }
    if (s > 0) {
      heap.set(${seq}.subarray(hp, hp + ${h.R}), ds + ${GH});
      hkernels.backwardWeight(ds * ${elt}, (ds + ${GH}) * ${elt}, GRADS_BYTE + ${h.WH * elt}, 1);
      hkernels.backwardInput(ds * ${elt}, ${h.WH * elt}, (ds + ${GH + h.R}) * ${elt}, 1);
      for (let k = 0; k < ${h.R}; k++) ${work}[${DH === 0 ? "k" : `${DH} + k`}]! += heap[ds + ${GH + h.R} + k]!;
    }`;
}
