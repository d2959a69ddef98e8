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
import { sharedOrigin } from "../analyze/shared.js";
import { roles, weightRoles, type Role } from "../vocabulary/types.js";
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

/** Element sums of a set of tensors, each counted `copies` (`active` per token) times. */
interface Sums {
  readonly byRole: RoleCounts;
  trainable: bigint;
  nonTrainable: bigint;
  buffers: bigint;
  bufferBytes: bigint;
  active: bigint;
  tied: bigint;
}

function emptySums(): Sums {
  return { byRole: emptyRoles(), trainable: 0n, nonTrainable: 0n, buffers: 0n, bufferBytes: 0n, active: 0n, tied: 0n };
}

function addTensor(s: Sums, t: TensorRecord, copies: bigint, active: bigint): void {
  const n = elements(t) * copies;
  if (t.role === "buffer") {
    s.buffers += n;
    s.bufferBytes += n * BigInt(t.elementBytes ?? 4);
    return;
  }
  if (t.tiedTo) {
    s.tied += n;
    return;
  }
  s.byRole[t.role] += n;
  s.active += elements(t) * active;
  if (t.frozen) s.nonTrainable += n;
  else s.trainable += n;
}

/** `s += o × copies` (`active` for the per-token sum). */
function addSums(s: Sums, o: Sums, copies: bigint, active: bigint): void {
  for (const r of roles) s.byRole[r] += o.byRole[r] * copies;
  s.trainable += o.trainable * copies;
  s.nonTrainable += o.nonTrainable * copies;
  s.buffers += o.buffers * copies;
  s.bufferBytes += o.bufferBytes * copies;
  s.tied += o.tied * copies;
  s.active += o.active * active;
}

/** Figures of a set of tensors (a whole model, or one layer's subtree). */
export function tensorFigures(tensors: readonly TensorRecord[]): Omit<Figures, "macs" | "flops"> {
  const s = emptySums();
  for (const t of tensors) addTensor(s, t, t.multiplicity, t.activeMultiplicity);
  return figuresOf(s);
}

function figuresOf(s: Sums): Omit<Figures, "macs" | "flops"> {
  const { byRole, trainable, nonTrainable, buffers, bufferBytes, active, tied } = s;
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
  // The root is one copy, so its subtree's sums are the model's: every tensor hangs under the root.
  return { ...figuresOf(subtreeSums(model.root)), macs, flops: 2n * macs };
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
  readonly trainable: bigint;
  readonly nonTrainable: bigint;
  /** The analysis node of the row (input shapes, tensor shapes, memory: columns.ts). */
  readonly node: LayerNode;
}

const subtrees = new WeakMap<LayerNode, Sums>();

/** Sums of one copy of a node's whole subtree (one token's copies for `active`). Computed once per
 *  distinct subtree: a reused subtree (a view, see analyze/shared.ts) has its origin's per-copy sums, so
 *  the cost follows the analysis, not the number of copies. Copy counts inside a node are multiples of
 *  its own, so the division is exact; a node with no copies (`moe` with no experts) adds nothing. */
function subtreeSums(n: LayerNode): Sums {
  const origin = sharedOrigin(n);
  const known = subtrees.get(origin);
  if (known) return known;
  const s = emptySums();
  const m = origin.multiplicity;
  const a = origin.activeMultiplicity;
  if (m !== 0n) {
    for (const t of origin.tensors) addTensor(s, t, t.multiplicity / m, a === 0n ? 0n : t.activeMultiplicity / a);
    for (const c of origin.children)
      addSums(s, subtreeSums(c), c.multiplicity / m, a === 0n ? 0n : c.activeMultiplicity / a);
  }
  subtrees.set(origin, s);
  return s;
}

/** Figures of one copy of a node's whole subtree (a block call, a repeated element). */
export function nodeFigures(n: LayerNode): Figures {
  return { ...figuresOf(subtreeSums(n)), macs: n.macs, flops: 2n * n.macs };
}

/**
 * The per-layer table, depth-first. Every row's figures cover its whole subtree, for one copy; rows below
 * `maxDepth` are folded into their ancestor. Depth 1 is the model's direct children.
 */
export function layerRows(model: ModelAnalysis, maxDepth = Infinity): LayerRow[] {
  const rows: LayerRow[] = [];
  if (maxDepth < 1) return rows; // torchinfo's depth 0: totals only
  const visit = (n: LayerNode, depth: number) => {
    const leaf = n.children.length === 0 || depth >= maxDepth;
    const f = figuresOf(subtreeSums(n));
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
      trainable: f.trainable,
      nonTrainable: f.nonTrainable,
      node: n,
    });
    if (!leaf) for (const c of n.children) visit(c, depth + 1);
  };
  for (const c of model.root.children) visit(c, 1);
  return rows;
}

export { grouped, humanBytes } from "../diagnostics/numbers.js";
