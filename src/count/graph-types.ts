// The model as a graph (`nnc graph`, and `graph` in `nnc count --format json`): plain types with no
// imports, because they are part of the public API's declarations (src/index.ts).

export interface GraphNode {
  /** Unique in the graph: a layer's `state_dict` prefix (`layer1.0.conv1`, the `name` of its row in
   *  `layers`); `input:NAME` for a model input, `output` (`output:K` for the K-th of several) for the
   *  model's outputs, `SCOPE@add0` / `SCOPE@mul0` for the elementwise ops of a body (`@add0` in the model's
   *  own body), which have no row of their own. */
  readonly id: string;
  /** Layer kind, block name, `repeat`, `moe`, `experts`; `input`, `output`, `add`, `sub`, `mul`. */
  readonly kind: string;
  /** The layer's name (its row's), `""` for inputs, outputs and elementwise ops. */
  readonly name: string;
  readonly outputShape: string;
  /** Parameters of one copy (its whole subtree), as its row in `layers`. */
  readonly parameters: bigint;
  /** Copies (a folded repeat's count, a moe's experts); 1 otherwise. */
  readonly count: bigint;
  /** An unfolded block or repeat: drawn as a box around the nodes whose `parent` it is. Edges never end
   *  at a cluster; an unfolded repeat shows one copy of its body, with its count. */
  readonly cluster: boolean;
  /** The cluster this node is drawn in; absent at the model's level. */
  readonly parent?: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** `data`: a value passed on; `residual`: the skip connection of a `residual` (its input added to the
   *  body's output); `shortcut`: the same through a `shortcut = { … }`; `tie`: `to` shares the weight of
   *  `from` (no data flows; drawn dashed); `share`: `to` applies the instance `from` again (`share = from`:
   *  every tensor shared; drawn dashed). */
  readonly kind: "data" | "residual" | "shortcut" | "tie" | "share";
  /** The name the value is bound to (`x = …`), when it has one. */
  readonly value?: string;
  /** A tie with `transpose(…)`. */
  readonly transposed?: boolean;
}

export interface ModelGraph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}
