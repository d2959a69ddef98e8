// Mixture of experts, the combining step: every token's router logits pick its top_k experts by softmax
// probability; their outputs are mixed with the selected probabilities renormalized to sum to 1
// (Mixtral's routing). The gradient flows to the selected experts' outputs and, through the renormalized
// softmax, to the router logits — exactly as autograd differentiates that computation in PyTorch
// (`softmax → topk → divide by the sum`); the unselected experts get none.
//
// Inputs: the router logits ([…, E] per sample), then the E experts' outputs ([…, D] each). Every expert is
// computed for every token (correct, not sparse: the cost is E experts, not top_k).
import type { EmitCtx, KernelFamily } from "../kernel.js";

/** Geometry and the scratch arrays that carry the routing from forward to backward. */
function routing(c: EmitCtx) {
  const E = c.args.int("experts");
  const K = c.args.int("top_k");
  const rowsPerSample = c.inSizes[0]! / E;
  return {
    E,
    K,
    rowsPerSample,
    D: c.inSizes[1]! / rowsPerSample,
    probs: c.scratch("probs", c.inSizes[0]!),
    chosen: c.scratch("chosen", rowsPerSample * K),
    weights: c.scratch("weights", rowsPerSample * K),
    outs: c.x.slice(1),
  };
}

export const moeKernels = {
  moe_combine: {
    forward(c) {
      const { E, K, rowsPerSample, D, probs, chosen, weights, outs } = routing(c);
      return `// ${c.op.name}: mixture of ${E} experts, top ${K} per token (width ${D})
for (let r = 0, e = n * ${rowsPerSample}; r < e; r++) {
  const lo = r * ${E};
  let m = -Infinity;
  for (let k = 0; k < ${E}; k++) m = Math.max(m, ${c.x[0]}[lo + k]!);
  let s = 0;
  for (let k = 0; k < ${E}; k++) { const v = Math.exp(${c.x[0]}[lo + k]! - m); ${probs}[lo + k] = v; s += v; }
  for (let k = 0; k < ${E}; k++) ${probs}[lo + k]! /= s;
  // Top ${K} by probability; the lower index wins a tie.
  let total = 0;
  for (let j = 0; j < ${K}; j++) {
    let best = -1;
    for (let k = 0; k < ${E}; k++) {
      let taken = false;
      for (let i = 0; i < j; i++) if (${chosen}[r * ${K} + i]! === k) taken = true;
      if (!taken && (best < 0 || ${probs}[lo + k]! > ${probs}[lo + best]!)) best = k;
    }
    ${chosen}[r * ${K} + j] = best;
    total += ${probs}[lo + best]!;
  }
  for (let j = 0; j < ${K}; j++) ${weights}[r * ${K} + j] = ${probs}[lo + ${chosen}[r * ${K} + j]!]! / total;
  for (let i = 0; i < ${D}; i++) {
    let acc = 0;
    for (let j = 0; j < ${K}; j++) {
      const w = ${weights}[r * ${K} + j]!;
      switch (${chosen}[r * ${K} + j]!) {
${outs.map((o, k) => `        case ${k}: acc += w * ${o}[r * ${D} + i]!; break;`).join("\n")}
      }
    }
    ${c.y[0]}[r * ${D} + i] = acc;
  }
}`;
    },
    backward(c) {
      const { E, K, rowsPerSample, D, probs, chosen, weights, outs } = routing(c);
      const gouts = c.gx.slice(1);
      const gw = c.scratch("gw", rowsPerSample * K);
      const gprob = c.scratch("gprob", c.inSizes[0]!);
      return `// ${c.op.name}: mixture of experts backward (to the chosen experts and through the routing)
for (let r = 0, e = n * ${rowsPerSample}; r < e; r++) {
  const lo = r * ${E};
  for (let j = 0; j < ${K}; j++) {
    const w = ${weights}[r * ${K} + j]!;
    let dw = 0;
    for (let i = 0; i < ${D}; i++) {
      const g = ${c.gy[0]}[r * ${D} + i]!;
      switch (${chosen}[r * ${K} + j]!) {
${outs.map((o, k) => `        case ${k}: dw += g * ${o}[r * ${D} + i]!; ${gouts[k]}[r * ${D} + i]! += w * g; break;`).join("\n")}
      }
    }
    ${gw}[r * ${K} + j] = dw;
  }
  // w_j = p_j / S over the chosen: dL/dp_m = (dL/dw_m − Σ_j dL/dw_j · w_j) / S.
  let total = 0;
  let mix = 0;
  for (let j = 0; j < ${K}; j++) {
    total += ${probs}[lo + ${chosen}[r * ${K} + j]!]!;
    mix += ${gw}[r * ${K} + j]! * ${weights}[r * ${K} + j]!;
  }
  for (let k = 0; k < ${E}; k++) ${gprob}[lo + k] = 0;
  for (let j = 0; j < ${K}; j++) ${gprob}[lo + ${chosen}[r * ${K} + j]!] = (${gw}[r * ${K} + j]! - mix) / total;
  // Softmax: dL/dz_k = p_k (dL/dp_k − Σ p · dL/dp).
  let dot = 0;
  for (let k = 0; k < ${E}; k++) dot += ${probs}[lo + k]! * ${gprob}[lo + k]!;
  for (let k = 0; k < ${E}; k++) ${c.gx[0]}[lo + k]! += ${probs}[lo + k]! * (${gprob}[lo + k]! - dot);
}`;
    },
  },
} satisfies KernelFamily;
