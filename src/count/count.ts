// Figures of an analyzed model, in exact integer arithmetic: parameters by role, weights and biases,
// trainable and frozen, buffers, ties, MACs and FLOPs, and memory in exact bytes.
//
// Conventions (printed with every report):
// - weights = matrix + embedding + normScale + other; biases = bias + normShift. This follows PyTorch's
//   parameter names (`*.weight`, `*.bias`), so weights + biases = `sum(p.numel() for p in model.parameters())`.
// - A tied tensor is counted once, at the tensor it shares.
// - Buffers (BatchNorm running statistics) are not parameters. `num_batches_tracked` is int64 (8 bytes).
// - MACs: multiply–accumulates of one forward pass of one sample; FLOPs = 2 × MACs.
// - Parameter memory: parameters × bytes per element (fp32 4, bf16/fp16 2, int8 1, int4 ½ rounded up).
// - Training memory with Adam (fp32): weights (4) + gradients (4) + two moments (8) per trainable parameter,
//   4 per frozen parameter, plus buffers. Activations are not included.
import type { LayerNode, ModelAnalysis, TensorRecord } from "../analyze/analyze.js";
import { roles, weightRoles, type Role } from "../analyze/types.js";
import type { CountBytes as Bytes } from "./report-types.js";

export type RoleCounts = Record<Role, bigint>;

/** Exact bytes of one model (the report's `bytes`; defined with the report's public types). */
export type { CountBytes as Bytes } from "./report-types.js";

export interface Figures {
  readonly params: bigint;
  readonly weights: bigint;
  readonly biases: bigint;
  readonly trainable: bigint;
  readonly nonTrainable: bigint;
  readonly buffers: bigint;
  readonly roles: RoleCounts;
  /** Parameters used for one token: differs from `params` only with `moe`. */
  readonly activeParams: bigint;
  /** What a tool that counts tied tensors twice would report. */
  readonly paramsIfTiesCountedTwice: bigint;
  readonly macs: bigint;
  readonly flops: bigint;
  readonly bytes: Bytes;
}

export function emptyRoles(): RoleCounts {
  return { matrix: 0n, embedding: 0n, normScale: 0n, bias: 0n, normShift: 0n, other: 0n };
}

function elements(t: TensorRecord): bigint {
  return t.shape.reduce((a, b) => a * b, 1n);
}

/** Figures of a set of tensors (a whole model, or one layer's subtree). */
export function tensorFigures(tensors: readonly TensorRecord[]): Omit<Figures, "macs" | "flops"> {
  const byRole = emptyRoles();
  let trainable = 0n;
  let nonTrainable = 0n;
  let buffers = 0n;
  let bufferBytes = 0n;
  let active = 0n;
  let tied = 0n;
  for (const t of tensors) {
    const n = elements(t) * t.multiplicity;
    if (t.role === "buffer") {
      buffers += n;
      bufferBytes += n * BigInt(t.elementBytes ?? 4);
      continue;
    }
    if (t.tiedTo) {
      tied += n;
      continue;
    }
    byRole[t.role] += n;
    active += elements(t) * t.activeMultiplicity;
    if (t.frozen) nonTrainable += n;
    else trainable += n;
  }
  const weights = roles.filter((r) => weightRoles.has(r)).reduce((a, r) => a + byRole[r], 0n);
  const biases = roles.filter((r) => !weightRoles.has(r)).reduce((a, r) => a + byRole[r], 0n);
  const params = weights + biases;
  return {
    params,
    weights,
    biases,
    trainable,
    nonTrainable,
    buffers,
    roles: byRole,
    activeParams: active,
    paramsIfTiesCountedTwice: params + tied,
    bytes: {
      fp32: params * 4n,
      bf16: params * 2n,
      int8: params,
      int4: (params + 1n) / 2n,
      buffers: bufferBytes,
      trainingAdam: trainable * 16n + nonTrainable * 4n + bufferBytes,
    },
  };
}

export function modelFigures(model: ModelAnalysis): Figures {
  const macs = model.root.children.reduce((a, c) => a + c.macs * c.count, 0n);
  return { ...tensorFigures(model.tensors), macs, flops: 2n * macs };
}

/** One row of the per-layer table. */
export interface LayerRow {
  readonly name: string;
  readonly kind: string;
  readonly depth: number;
  readonly outputShape: string;
  /** Copies of this row (repeat count, experts) relative to its parent row. */
  readonly count: bigint;
  /** Parameters of one copy of the row (its whole subtree when folded or a block), by role. */
  readonly roles: RoleCounts;
  readonly params: bigint;
  readonly weights: bigint;
  readonly biases: bigint;
  readonly buffers: bigint;
  /** MACs of one copy, one sample. */
  readonly macs: bigint;
  readonly convention?: string;
  /** Tensors of this row that share another layer's (`lm_head.weight` → `wte.weight`). */
  readonly tiedTo: readonly string[];
}

/** Every tensor of a subtree, scaled to one copy of its root. */
function perCopy(n: LayerNode, subtree: boolean): TensorRecord[] {
  const out: TensorRecord[] = [];
  const visit = (m: LayerNode) => {
    for (const t of m.tensors) {
      out.push({ ...t, multiplicity: t.multiplicity / n.multiplicity, activeMultiplicity: t.activeMultiplicity / n.multiplicity });
    }
    if (subtree) m.children.forEach(visit);
  };
  visit(n);
  return out;
}

/** Figures of one copy of a node's whole subtree (a block call, a repeated element). */
export function nodeFigures(n: LayerNode): Figures {
  return { ...tensorFigures(perCopy(n, true)), macs: n.macs, flops: 2n * n.macs };
}

/**
 * The per-layer table, depth-first. Every row's figures cover its whole subtree, for one copy; rows below
 * `maxDepth` are folded into their ancestor. Depth 1 is the model's direct children.
 */
export function layerRows(model: ModelAnalysis, maxDepth = Infinity): LayerRow[] {
  const rows: LayerRow[] = [];
  const visit = (n: LayerNode, depth: number) => {
    const leaf = n.children.length === 0 || depth >= maxDepth;
    const tensors = perCopy(n, true);
    const f = tensorFigures(tensors);
    rows.push({
      name: n.name,
      kind: n.kind,
      depth,
      outputShape: n.outputShape,
      count: n.count,
      roles: f.roles,
      params: f.params,
      weights: f.weights,
      biases: f.biases,
      buffers: f.buffers,
      macs: n.macs,
      ...(n.convention ? { convention: n.convention } : {}),
      tiedTo: n.tensors.flatMap((t) => (t.tiedTo ? [t.tiedTo] : [])),
    });
    if (!leaf) for (const c of n.children) visit(c, depth + 1);
  };
  for (const c of model.root.children) visit(c, 1);
  return rows;
}

export { grouped, humanBytes } from "./numbers.js";
