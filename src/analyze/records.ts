// The records the analysis produces for each tensor and each layer row: what counting, reports and the
// memoized sharing (shared.ts) read. Apart from analyze.ts so that shared.ts needs nothing from the engine.
import type { Span } from "../diagnostics/diagnostic.js";
import type { TensorRecord } from "../ir/ir.js";

export type { TensorRecord } from "../ir/ir.js";

export interface LayerNode {
  /** Hierarchical name (`h.{0..11}.attn`), `""` for the model itself. */
  readonly name: string;
  /** Layer kind, block name, `repeat`, `residual`, `moe` or `model`. */
  readonly kind: string;
  outputShape: string;
  /** Tensors this node owns directly (a layer's own; none for blocks and containers). */
  readonly tensors: TensorRecord[];
  /** MACs of one forward pass of one sample through one copy of this node, children included. */
  macs: bigint;
  /** MACs used per token (differs inside `moe`: top_k of the experts). */
  readonly children: LayerNode[];
  /** Copies of this node (`repeat` count, `moe` experts); 1 otherwise. */
  count: bigint;
  /** Copies active per token (`moe`: top_k). */
  activeCount: bigint;
  /** Copies of this node in the whole model (its count times the counts of every enclosing node). */
  readonly multiplicity: bigint;
  /** Copies of this node used for one token (differs from `multiplicity` inside `moe`). */
  readonly activeMultiplicity: bigint;
  readonly convention?: string;
  readonly span: Span;
  /** The ops recorded directly under this node, as indices into `ModelAnalysis.ops` (the analysis's ops,
   *  once per analyzed op: src/ir/ir.ts), in the order they were recorded: a layer's own op; a residual's
   *  `add` and a value expression's `add`/`mul` under the enclosing node; a `moe`'s router and combining op
   *  under the `moe`. What activation memory is computed from (src/count/memory.ts). */
  readonly ops: number[];
  /** For each of `ops`, how many children the node had when it was recorded: where it runs among them
   *  (before child `opsAt[i]`). What the lowering pass orders a node's ops and children by. */
  readonly opsAt: number[];
  /** Data flow, for the graph (src/count/graph.ts): the value numbers (`ModelAnalysis.values`) this node
   *  reads and gives. */
  flow?: NodeFlow;
  /** A repeated call given the copy's input with outer values (`repeat 6 { input h  [h, memory] -> Dec() }`):
   *  the value numbers of \`flow.inputs\` that each copy takes from the previous copy's outputs, in order; the
   *  others are outer values every copy reads. Absent: every input is chained. */
  chained?: readonly number[];
  /** A call that applies an instance again (`share = a`, or a layer inside such a block call): the
   *  instance's name. It owns no tensors; its op reads the instance's (`IrOp.reuses`). */
  shares?: string;
  /** Set on a reused unit's view (see `NodeReuse`). */
  reuse?: NodeReuse;
  /** Elementwise ops of this node's own body (`a + b`, a residual's add), which are not layer nodes. */
  readonly flowOps: FlowOp[];
  /** Values bound to a name in this node's own body (`x = …`): value number and name. */
  readonly names: [number, string][];
}

export interface NodeFlow {
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

/** A reused unit (a view of a first analysis, analyze/shared.ts): its `flow` and everything inside it
 *  keep the first analysis's value numbers; these pairs say which of them stand for which numbers here
 *  (first, here) — what it reads from outside (its input, the outer values a repeated body names) and
 *  what it gives. Any other number inside is the unit's own. */
export interface NodeReuse {
  readonly inputs: readonly (readonly [number, number])[];
  readonly outputs: readonly (readonly [number, number])[];
}

export interface FlowOp {
  readonly kind: "add" | "sub" | "mul";
  readonly inputs: readonly number[];
  readonly output: number;
  /** A residual's add: its second input is the skip connection (the block's input, or its shortcut's
   *  output). */
  readonly residual?: "identity" | "shortcut";
  /** How many children the node had when it was made: its place among them. */
  readonly after: number;
}
