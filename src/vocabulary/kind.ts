// What a layer kind is made of: the type every definition in kinds/ fills in. A definition holds
// everything the front end and the analysis know about a kind — its signature with PyTorch's defaults,
// its value traits (token ids, the channel axis, what a shorter sequence does to it), its shape rule (output
// shape, parameter tensors with PyTorch names, layouts, roles and initializers, MACs) and its documentation
// — and every piece is a required property, so a definition that leaves one out does not compile. The
// kernel (forward and backward code) is the code generator's (src/emit/kernels/index.ts), in a table typed
// by `OpKind`: a kind without a kernel does not compile either. See ARCHITECTURE.md, "Adding a layer kind".
import type { ParamSpec } from "./params.js";
import type { LayerSemantics } from "./types.js";

// ── Layer entries ────────────────────────────────────────────────────────────────────────────────────

export type LayerCategory =
  | "dense"
  | "conv"
  | "pool"
  | "shape"
  | "combine"
  | "embedding"
  | "norm"
  | "regularization"
  | "attention"
  | "recurrent"
  | "container"
  | "activation";

/** Which axis a kind reads as channels or features — the axis whose size becomes the size of its
 *  parameters (`in_channels` of a convolution, `num_features` of a norm, `in_features` of a dense layer):
 *  - `first`: axis 0, PyTorch's channel axis after the batch (`[C, L]`, `[C, H, W]`): convolutions, pools,
 *    `batchnorm`, `groupnorm`, `prelu`;
 *  - `last`: the last axis, the features of each vector (`[…, D]`): `dense`, `layernorm`, `attention`, the
 *    recurrent layers, the positional layers;
 *  - `none`: the kind works on every element alike or only moves elements (activations, shape layers).
 *  The analysis refuses a `first`/`last` axis that is a sequence axis (a symbolic length or token
 *  positions; `Dim.positions`): its size is a length, not a channel count (see `axisProblem`). */
export type ChannelAxis = "first" | "last" | "none";

/** What a kind does with token ids (a `token` input, or what only `keeps` kinds made of one):
 *  - `keeps`: moves ids without changing them (reshape, flatten, transpose, take, concat, split): the output
 *    is token ids with the same vocabulary;
 *  - `reads`: looks them up (`embedding`), the one kind that needs ids;
 *  - `computes`: accepts ids but computes new numbers from them (`mean`, the sum of `residual`): the output
 *    is floats, never ids — an `embedding` after it is an error located at where the ids were lost;
 *  - `rejects`: needs float features; token ids are an error (every other kind). */
export type TokenIds = "keeps" | "reads" | "computes" | "rejects";

/** The value traits of a kind: required of every entry, so a kind cannot leave them out. */
export interface LayerTraits {
  readonly channels: ChannelAxis;
  /** The channel axis is not read when this argument has this value: `prelu(num_parameters = 1)` has one
   *  slope shared by every element. */
  readonly channelsUnless?: { readonly param: string; readonly value: bigint };
  readonly tokenIds: TokenIds;
}

export interface LayerEntry extends LayerTraits {
  readonly kind: string;
  readonly category: LayerCategory;
  readonly description: string;
  /** Positional parameters in order; each may also be passed by name (`dense(out = 128)`). */
  readonly args: readonly ParamSpec[];
  /** Named-only options, besides the universal ones (`frozen`, `tie`). */
  readonly options: readonly ParamSpec[];
  /** Whether the call takes a `{ body }`: containers require one, every other kind allows none. */
  readonly body: "required" | "none";
  /** For an alias (`swish`), the kind it stands for. */
  readonly aliasOf?: string;
}

// The trait combinations of the definitions (LayerTraits): each kind names one.
/** Channels on axis 0, float features only: convolutions, pools, batchnorm, groupnorm, prelu. */
export const channelsFirst: LayerTraits = { channels: "first", tokenIds: "rejects" };
/** Features on the last axis, float features only: dense, layernorm, attention, recurrent, positions. */
export const featuresLast: LayerTraits = { channels: "last", tokenIds: "rejects" };
/** Every element alike, float features only: activations, dropout, softmax. */
export const elementwise: LayerTraits = { channels: "none", tokenIds: "rejects" };
/** Moves elements without changing them: token ids stay ids. */
export const movesElements: LayerTraits = { channels: "none", tokenIds: "keeps" };

// ── Definitions ──────────────────────────────────────────────────────────────────────────────────────

/** The arguments of an op as `PositionUse` predicates read them: the value written, or `fallback`. */
export interface ArgLookup {
  int(name: string, fallback: number): number;
  flag(name: string, fallback: boolean): boolean;
}

/** What an op does across the positions of a sequence, which decides whether a generated module may be
 *  called with a sequence shorter than its declared maximum (`lengthSupport` in src/emit/plan.ts):
 *  - `apart`: each position's output depends only on inputs at that position or before (row-wise layers,
 *    causal mixing) — or, for `attention`, on the keys the generated code masks when they are padding;
 *  - `mixes`: an output may depend on a later position (convolutions, pools, norms over positions,
 *    shape ops that move positions), so a shorter call would not be the full computation cut;
 *  - a predicate: `apart` for some arguments only (a forward-only recurrent layer that returns every step,
 *    softmax along the last axis). `rank` is the rank of the op's first input. */
export type PositionUse = "apart" | "mixes" | ((args: ArgLookup, rank: number) => boolean);

/** What the language reference (grammar/README.md, "Vocabulary", generated from the definitions) says
 *  besides the signature, the defaults and the description. */
export interface KindDoc {
  /** Shapes in and out, `[…, D] → […, out]`; absent when the description says it. */
  readonly shapes?: string;
  /** A note for the reader: constraints, which PyTorch module it is. */
  readonly note?: string;
}

interface KindBase extends LayerTraits {
  readonly category: LayerCategory;
  readonly description: string;
  /** Positional parameters in order; each may also be passed by name. */
  readonly args: readonly ParamSpec[];
  /** Named-only options, besides the universal ones (`frozen`, `tie`). */
  readonly options: readonly ParamSpec[];
  readonly doc: KindDoc;
}

/** A kind that is one op of the model's IR: the code generator emits it with its kernel. */
export interface OpKindDef extends KindBase {
  readonly form: "op";
  readonly body: "none";
  /** `one` value, or a `list` of values (`[a, b] -> concat`). */
  readonly inputs: "one" | "list";
  /** The shape rule: output shape, parameter tensors (PyTorch names, layouts, roles, initializers) and
   *  MACs — or a located diagnostic. MAC convention: matrix products and convolutions only (one
   *  multiply–accumulate per weight use); normalizations, activations, pooling and softmax count 0.
   *  Attention counts its projections and both T×T products at the maximum sequence length (causal
   *  masking not discounted). */
  readonly shape: LayerSemantics;
  readonly positions: PositionUse;
}

/** A kind with a body, which the analysis engine walks itself (src/analyze/analyze.ts) and lowers to other
 *  ops: `residual` to its body and an `add`, `moe` to a router `dense`, its experts' bodies and a
 *  `moe_combine`. */
export interface ContainerKindDef extends KindBase {
  readonly form: "container";
  readonly body: "required";
  /** The ops it lowers to, for the reader. */
  readonly lowering: string;
}

/** Another name for a kind (`swish` for `silu`): the same signature, traits and op. */
export interface AliasKindDef<T extends string = string> {
  readonly form: "alias";
  readonly aliasOf: T;
}

export type KindDef = OpKindDef | ContainerKindDef | AliasKindDef;

/** The definitions of one family of kinds (one file of kinds/), by kind name. */
export type KindFamily = Readonly<Record<string, KindDef>>;

/** An op definition; every property but `options`, `args` and `inputs` must be given. */
export function op(
  def: Omit<OpKindDef, "form" | "body" | "inputs" | "args" | "options"> &
    Partial<Pick<OpKindDef, "inputs" | "args" | "options">>,
): OpKindDef {
  return { form: "op", body: "none", inputs: "one", args: [], options: [], ...def };
}

export function container(def: Omit<ContainerKindDef, "form" | "body">): ContainerKindDef {
  return { form: "container", body: "required", ...def };
}

export function alias<T extends string>(aliasOf: T): AliasKindDef<T> {
  return { form: "alias", aliasOf };
}
