// THE vocabulary of the language as data: one entry per layer kind, with its arguments, options and PyTorch
// defaults; the losses; the `expect` quantities; the input dtypes. The resolver checks calls against these
// entries; the meaning of each kind (shapes, tensors, MACs) is the table in semantics.ts, keyed the same way.
// grammar/README.md, "Vocabulary", is the prose version of this file.
import type { Body, Expr } from "../syntax/ast.js";

// ── Types of arguments and options ───────────────────────────────────────────────────────────────────

/** What an argument or option accepts. */
export type ArgType =
  /** An exact integer known without shapes (constants, block parameters); `min` is checked when known.
   *  `axis`: any integer (negative counts from the end), checked against the value's rank by the shape
   *  stage instead of a fixed minimum. */
  | { readonly kind: "int"; readonly min?: bigint; readonly axis?: true }
  /** Any size expression: like `int`, and may also use symbolic dimensions of the model (`seq`). */
  | { readonly kind: "size"; readonly min?: bigint }
  /** A number: a decimal literal, or an integer expression (`theta = 10_000`). Always finite (`1e999` is
   *  rejected), and within `range`. */
  | { readonly kind: "decimal"; readonly range: NumberRange }
  | { readonly kind: "bool" }
  /** One of a fixed set of names, written as identifiers: `approximate = tanh`. */
  | { readonly kind: "enum"; readonly values: readonly string[] }
  /** A list `[…]` of items of one type, optionally of a fixed length (`[h, w]`). */
  | { readonly kind: "list"; readonly of: ArgType; readonly length?: number }
  /** Any of several types: `padding` is an integer, `[h, w]`, `same` or `valid`. */
  | { readonly kind: "oneOf"; readonly types: readonly ArgType[] }
  /** A body literal `{ … }` (`shortcut`). */
  | { readonly kind: "body" }
  /** A layer path: `wte`, `encoder.embed`, or `transpose(wte)` (`tie`). */
  | { readonly kind: "path" };

/** The valid values of a numeric option, besides being finite. Bounds are inclusive unless marked
 *  exclusive; an absent bound is unbounded. The resolver checks it (OptionOutOfRange). */
export interface NumberRange {
  readonly min?: number;
  readonly exclusiveMin?: boolean;
  readonly max?: number;
  readonly exclusiveMax?: boolean;
  /** Why this range: PyTorch's documented constraint, or why nnc is stricter. */
  readonly why: string;
}

/** `> 0`, `in [0, 1)`, `finite`: the range as written in messages and the README. */
export function describeRange(range: NumberRange): string {
  const { min, max } = range;
  if (min !== undefined && max !== undefined) {
    return `in ${range.exclusiveMin ? "(" : "["}${min}, ${max}${range.exclusiveMax ? ")" : "]"}`;
  }
  if (min !== undefined) return `${range.exclusiveMin ? ">" : "≥"} ${min}`;
  if (max !== undefined) return `${range.exclusiveMax ? "<" : "≤"} ${max}`;
  return "finite";
}

/** What NN4016 says of a number outside its option's range (`what` names the option; `verb` is how the
 *  help asks for another value: "write" a literal, "pass" a block argument); undefined when it is in range.
 *  The resolver (literals) and the analysis (values from block arguments) both report with it. */
export function rangeProblem(
  what: string,
  value: number,
  range: NumberRange,
  verb: string,
): { message: string; note: string; help: string } | undefined {
  if (inRange(value, range)) return undefined;
  const finite = Number.isFinite(value);
  const shown = finite ? String(value) : Number.isNaN(value) ? "NaN" : "a number too large to represent";
  const rule = describeRange(range);
  return {
    message: finite ? `${what} must be ${rule}, found ${shown}` : `${what} must be a finite number, found ${shown}`,
    note: `${what}: ${range.why}`,
    help: rule === "finite" ? `${verb} a finite number` : `${verb} a finite number ${rule}`,
  };
}

/** The least integer a value of `type` may be (`kind` "int": a single integer, "item": an item of a list):
 *  the smallest `min` of the matching integer alternatives; undefined when one of them is unbounded (axes)
 *  or there is none. The resolver checks literals against it, the analysis values from block arguments. */
export function intMinimum(type: ArgType, kind: "int" | "item"): bigint | undefined {
  const alternatives = type.kind === "oneOf" ? type.types : [type];
  const ints =
    kind === "int"
      ? alternatives
      : alternatives.flatMap((t) => (t.kind === "list" ? (t.of.kind === "oneOf" ? t.of.types : [t.of]) : []));
  const mins = ints.filter((t) => t.kind === "int" || t.kind === "size").map((t) => (t as { min?: bigint }).min);
  if (mins.length === 0 || mins.some((m) => m === undefined)) return undefined;
  return mins.reduce((x, y) => (x! < y! ? x : y));
}

/** How NN3005 states a minimum: "must be positive", "must not be negative", "must be at least -1". */
export function minimumRule(min: bigint): string {
  return min === 1n ? "must be positive" : min === 0n ? "must not be negative" : `must be at least ${min}`;
}

/** Whether a number is finite and within the range. */
export function inRange(value: number, range: NumberRange): boolean {
  if (!Number.isFinite(value)) return false;
  const { min, max } = range;
  if (min !== undefined && (range.exclusiveMin ? value <= min : value < min)) return false;
  if (max !== undefined && (range.exclusiveMax ? value >= max : value > max)) return false;
  return true;
}

/** A PyTorch default, as data. */
export type DefaultValue =
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "decimal"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "enum"; readonly value: string }
  /** PyTorch's `None`: the option is off (`padding_idx`, `shortcut`, `tie`). */
  | { readonly kind: "none" }
  /** The value of another argument of the same call: `stride = kernel`, `kv_heads = heads`. */
  | { readonly kind: "sameAs"; readonly param: string }
  /** Computed from the input by the shape stage: `head_dim = D / heads`. */
  | { readonly kind: "derived"; readonly formula: string };

export interface ParamSpec {
  readonly name: string;
  readonly type: ArgType;
  /** Absent: the argument is required. */
  readonly default?: DefaultValue;
  readonly description?: string;
  /** Names a person may write here that this parameter does not take, each with why and what to write
   *  instead (`padding = same` on a transposed convolution). The resolver reports them (NN4002). */
  readonly refuses?: readonly RefusedName[];
}

/** A name an option does not take, with the message's reason (a note) and help. */
export interface RefusedName {
  readonly name: string;
  readonly why: string;
  readonly help: string;
}

// ── Argument values as the resolver leaves them ─────────────────────────────────

/** The evaluated value of one argument of a call, as the resolver leaves it. */
export type ArgValue =
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "decimal"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "enum"; readonly value: string }
  | { readonly kind: "list"; readonly items: readonly ArgValue[] }
  | { readonly kind: "body"; readonly body: Body }
  /** `tie = encoder.embed` → `["encoder", "embed"]`; `transpose(wte)` → transposed. */
  | { readonly kind: "path"; readonly path: readonly string[]; readonly transposed: boolean }
  /** Known only per call of the enclosing block, or per input (symbolic dimensions). */
  | { readonly kind: "symbolic"; readonly expr: Expr };

/** One argument given in a call, bound to its parameter name (positional or named). */
export interface BoundArg {
  readonly name: string;
  readonly expr: Expr;
  /** Absent when the argument is ill-typed (already reported). */
  readonly value?: ArgValue;
}

/** The arguments of a call by parameter name. Omitted arguments take the entry's defaults. */
export type LayerArgs = ReadonlyMap<string, BoundArg>;

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

// ── Building blocks for the table ────────────────────────────────────────────────────────────────────

const int = (min?: bigint): ArgType => (min === undefined ? { kind: "int" } : { kind: "int", min });
const positive = int(1n);
const nonNegative = int(0n);
const axis: ArgType = { kind: "int", axis: true };
const decimal = (range: NumberRange): ArgType => ({ kind: "decimal", range });

// Ranges of the decimal options, from PyTorch's documented constraints; where PyTorch checks nothing, the
// range excludes the values that make the arithmetic produce NaN or infinity.
/** `eps` of the norms: PyTorch (`nn.LayerNorm`, `nn.RMSNorm`, `nn.BatchNorm*d`, `nn.GroupNorm`) documents it
 *  as "a value added to the denominator for numerical stability" and does not check it; eps ≤ 0 lets
 *  √(var + eps) be 0 (a constant row divides 0 by 0) or the root of a negative number, so nnc requires > 0. */
const epsRange: NumberRange = {
  min: 0,
  exclusiveMin: true,
  why: "added under the square root of the variance: eps ≤ 0 gives 0/0 or √(negative)",
};
/** Dropout probability: `nn.Dropout` raises for p outside [0, 1]; nnc also rejects p = 1, since inverted
 *  dropout scales kept elements by 1/(1 − p), which is 1/0 there (and 0 · ∞ = NaN). */
const probabilityRange: NumberRange = {
  min: 0,
  max: 1,
  exclusiveMax: true,
  why: "a drop probability; p = 1 would scale kept elements by 1/(1 − p) = 1/0",
};
/** RoPE base: frequencies are theta^(−2i/d), which need theta > 0 (Su et al., RoFormer; 10 000 there). */
const thetaRange: NumberRange = {
  min: 0,
  exclusiveMin: true,
  why: "the base of the rotary frequencies theta^(−2i/d) must be positive",
};
/** Any finite number (the coefficient is free in PyTorch: `nn.LeakyReLU` negative_slope, `nn.ELU` alpha,
 *  `nn.Softplus` threshold). */
const finiteRange: NumberRange = { why: "any finite number" };
const bool: ArgType = { kind: "bool" };
const enumOf = (...values: string[]): ArgType => ({ kind: "enum", values });
const listOf = (of: ArgType, length?: number): ArgType =>
  length === undefined ? { kind: "list", of } : { kind: "list", of, length };
const oneOf = (...types: ArgType[]): ArgType => ({ kind: "oneOf", types });
/** An integer, or one per spatial axis (`[h, w]`). */
const intOrPair = (min: bigint): ArgType => oneOf(int(min), listOf(int(min), 2));

const dInt = (value: bigint): DefaultValue => ({ kind: "int", value });
const dDecimal = (value: number): DefaultValue => ({ kind: "decimal", value });
const dBool = (value: boolean): DefaultValue => ({ kind: "bool", value });
const dEnum = (value: string): DefaultValue => ({ kind: "enum", value });
const dSameAs = (param: string): DefaultValue => ({ kind: "sameAs", param });
const dNone: DefaultValue = { kind: "none" };

function p(name: string, type: ArgType, def?: DefaultValue, description?: string): ParamSpec {
  return { name, type, ...(def ? { default: def } : {}), ...(description ? { description } : {}) };
}

function layer(
  kind: string,
  category: LayerCategory,
  traits: LayerTraits,
  description: string,
  args: readonly ParamSpec[] = [],
  options: readonly ParamSpec[] = [],
  body: "required" | "none" = "none",
): LayerEntry {
  return { kind, category, ...traits, description, args, options, body };
}

// The trait combinations of the table (LayerTraits): each kind names one.
/** Channels on axis 0, float features only: convolutions, pools, batchnorm, groupnorm, prelu. */
const channelsFirst: LayerTraits = { channels: "first", tokenIds: "rejects" };
/** Features on the last axis, float features only: dense, layernorm, attention, recurrent, positions. */
const featuresLast: LayerTraits = { channels: "last", tokenIds: "rejects" };
/** Every element alike, float features only: activations, dropout, softmax. */
const elementwise: LayerTraits = { channels: "none", tokenIds: "rejects" };
/** Moves elements without changing them: token ids stay ids. */
const movesElements: LayerTraits = { channels: "none", tokenIds: "keeps" };

const convOptions = (pair: boolean): ParamSpec[] => {
  const spatial = (min: bigint): ArgType => (pair ? intOrPair(min) : int(min));
  const padding = pair
    ? oneOf(int(0n), listOf(int(0n), 2), enumOf("same", "valid"))
    : oneOf(int(0n), enumOf("same", "valid"));
  return [
    p("stride", spatial(1n), dInt(1n)),
    p("padding", padding, dInt(0n), "zero padding on each side, or `same` / `valid`"),
    p("dilation", spatial(1n), dInt(1n)),
    p("groups", positive, dInt(1n)),
    p("bias", bool, dBool(true)),
  ];
};

const maxPoolOptions = (pair: boolean): ParamSpec[] => {
  const spatial = (min: bigint): ArgType => (pair ? intOrPair(min) : int(min));
  return [
    p("stride", spatial(1n), dSameAs("kernel")),
    p("padding", spatial(0n), dInt(0n)),
    p("dilation", spatial(1n), dInt(1n)),
    p("ceil_mode", bool, dBool(false)),
  ];
};

const avgPoolOptions = (pair: boolean): ParamSpec[] => {
  const spatial = (min: bigint): ArgType => (pair ? intOrPair(min) : int(min));
  return [
    p("stride", spatial(1n), dSameAs("kernel")),
    p("padding", spatial(0n), dInt(0n)),
    p("ceil_mode", bool, dBool(false)),
    p("count_include_pad", bool, dBool(true)),
  ];
};

const recurrentOptions: ParamSpec[] = [
  p("layers", positive, dInt(1n), "stacked layers"),
  p("bidirectional", bool, dBool(false)),
  p("bias", bool, dBool(true)),
  p("bias_convention", enumOf("pytorch", "keras"), dEnum("pytorch"), "pytorch: two bias vectors per gate; keras: one"),
  p("sequences", bool, dBool(true), "return the whole sequence (true) or the last step only (false)"),
];

/** A transposed convolution's `padding` takes rows off its output, (in − 1)·stride − 2·padding +
 *  dilation·(kernel − 1) + output_padding + 1 (PyTorch's `nn.ConvTranspose2d` docs, "Shape"); its
 *  `padding` is integers only, with no `'same'` or `'valid'` string as `nn.Conv2d` has. */
const transposedPadding: readonly RefusedName[] = [
  {
    name: "same",
    why: "a transposed convolution has no `padding = same`: its padding removes rows from the output, out = (in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1 (PyTorch's ConvTranspose takes integers only)",
    help: "for out = in · stride, choose 2·padding − output_padding = dilation·(kernel − 1) + 1 − stride; with dilation 1: kernel 4, stride 2 → `padding = 1`; kernel 3, stride 2 → `padding = 1, output_padding = 1`; stride 1, odd kernel → `padding = (kernel − 1) / 2`",
  },
  {
    name: "valid",
    why: "a transposed convolution has no `padding = valid` (PyTorch's ConvTranspose takes integers only)",
    help: "`valid` means no padding: write `padding = 0`, the default",
  },
];

const silu = layer("silu", "activation", elementwise, "x · sigmoid(x)");

/** Every layer kind, in the order of the README's Vocabulary. */
export const layers: readonly LayerEntry[] = [
  // Dense, convolution, pooling, shape
  layer(
    "dense",
    "dense",
    featuresLast,
    "a fully connected layer on the last axis",
    [p("out", positive)],
    [p("bias", bool, dBool(true))],
  ),
  layer(
    "conv1d",
    "conv",
    channelsFirst,
    "a 1d convolution over [C, L]",
    [p("out", positive), p("kernel", positive)],
    convOptions(false),
  ),
  layer(
    "conv2d",
    "conv",
    channelsFirst,
    "a 2d convolution over [C, H, W]",
    [p("out", positive), p("kernel", intOrPair(1n))],
    convOptions(true),
  ),
  layer(
    "conv_transpose2d",
    "conv",
    channelsFirst,
    "a 2d transposed convolution over [C, H, W]",
    [p("out", positive), p("kernel", intOrPair(1n))],
    [
      p("stride", intOrPair(1n), dInt(1n)),
      { ...p("padding", intOrPair(0n), dInt(0n)), refuses: transposedPadding },
      p("output_padding", intOrPair(0n), dInt(0n)),
      p("groups", positive, dInt(1n)),
      p("dilation", intOrPair(1n), dInt(1n)),
      p("bias", bool, dBool(true)),
    ],
  ),
  layer("max_pool1d", "pool", channelsFirst, "max pooling over [C, L]", [p("kernel", positive)], maxPoolOptions(false)),
  layer(
    "max_pool2d",
    "pool",
    channelsFirst,
    "max pooling over [C, H, W]",
    [p("kernel", intOrPair(1n))],
    maxPoolOptions(true),
  ),
  layer(
    "avg_pool1d",
    "pool",
    channelsFirst,
    "average pooling over [C, L]",
    [p("kernel", positive)],
    avgPoolOptions(false),
  ),
  layer(
    "avg_pool2d",
    "pool",
    channelsFirst,
    "average pooling over [C, H, W]",
    [p("kernel", intOrPair(1n))],
    avgPoolOptions(true),
  ),
  layer("global_avg_pool", "pool", channelsFirst, "averages every axis after the first: [C, …] → [C]"),
  layer("adaptive_avg_pool1d", "pool", channelsFirst, "average pooling to a fixed output length", [
    p("size", positive),
  ]),
  layer("adaptive_avg_pool2d", "pool", channelsFirst, "average pooling to a fixed output size", [
    p("size", intOrPair(1n)),
  ]),
  layer(
    "flatten",
    "shape",
    movesElements,
    "merges the axes start..end (batch not counted)",
    [],
    [p("start", axis, dInt(0n)), p("end", axis, dInt(-1n))],
  ),
  layer("reshape", "shape", movesElements, "reshapes to the given sizes; one may be -1", [
    p("shape", listOf({ kind: "size", min: -1n })),
  ]),
  layer("transpose", "shape", movesElements, "swaps two axes", [p("a", axis), p("b", axis)]),
  layer(
    "take",
    "shape",
    movesElements,
    "picks one position along an axis, dropping it",
    [p("index", axis)],
    [p("axis", axis, dInt(0n))],
  ),
  layer(
    "mean",
    "shape",
    { channels: "none", tokenIds: "computes" },
    "averages over an axis, dropping it",
    [],
    [p("axis", axis, dInt(0n))],
  ),
  layer(
    "concat",
    "combine",
    movesElements,
    "concatenates a list of values along an axis",
    [],
    [p("axis", axis, dInt(0n))],
  ),
  layer(
    "split",
    "combine",
    movesElements,
    "splits into equal parts or parts of the given sizes",
    [p("parts", oneOf(positive, listOf(positive)))],
    [p("axis", axis, dInt(-1n))],
  ),

  // Embeddings and positions
  layer(
    "embedding",
    "embedding",
    { channels: "none", tokenIds: "reads" },
    "a lookup table of token vectors: [T] → [T, dim]",
    [p("num", positive), p("dim", positive)],
    [p("padding_idx", nonNegative, dNone)],
  ),
  layer("positional", "embedding", featuresLast, "learned positions added: [T, dim] → [T, dim], T ≤ max", [
    p("max", positive),
    p("dim", positive),
  ]),
  layer("class_token", "embedding", featuresLast, "a learned vector prepended: [T, dim] → [T + 1, dim]", [
    p("dim", positive),
  ]),
  layer(
    "rotary",
    "embedding",
    featuresLast,
    "rotary position encoding, no parameters",
    [],
    [p("theta", decimal(thetaRange), dDecimal(10_000))],
  ),

  // Normalization and regularization
  layer(
    "layernorm",
    "norm",
    featuresLast,
    "normalizes the last axis",
    [],
    [p("eps", decimal(epsRange), dDecimal(1e-5)), p("affine", bool, dBool(true)), p("bias", bool, dBool(true))],
  ),
  layer(
    "rmsnorm",
    "norm",
    featuresLast,
    "root-mean-square normalization of the last axis",
    [],
    [p("eps", decimal(epsRange), dDecimal(1e-6)), p("affine", bool, dBool(true))],
  ),
  layer(
    "batchnorm",
    "norm",
    channelsFirst,
    "batch normalization over channel axis 0 (1d or 2d by rank)",
    [],
    [
      p("eps", decimal(epsRange), dDecimal(1e-5)),
      // `nn.BatchNorm*d` momentum: running = (1 − m) · running + m · batch, a convex combination for m in [0, 1].
      p(
        "momentum",
        decimal({ min: 0, max: 1, why: "the weight of the batch statistics in the running average" }),
        dDecimal(0.1),
      ),
      p("affine", bool, dBool(true)),
      p("track_running_stats", bool, dBool(true)),
    ],
  ),
  layer(
    "groupnorm",
    "norm",
    channelsFirst,
    "group normalization over channel axis 0",
    [p("groups", positive)],
    [p("eps", decimal(epsRange), dDecimal(1e-5)), p("affine", bool, dBool(true))],
  ),
  layer("dropout", "regularization", elementwise, "zeroes elements with probability p while training", [
    p("p", decimal(probabilityRange), dDecimal(0.5)),
  ]),

  // Attention, recurrence, experts
  layer(
    "attention",
    "attention",
    featuresLast,
    "multi-head self-attention",
    [p("heads", positive)],
    [
      p("kv_heads", positive, dSameAs("heads"), "key/value heads (grouped-query attention when fewer)"),
      p("causal", bool, dBool(false)),
      p("bias", bool, dBool(true)),
      p("qkv", enumOf("fused", "separate"), dEnum("fused"), "one fused projection or three"),
      p("head_dim", positive, { kind: "derived", formula: "D / heads" }),
      p("out_bias", bool, dSameAs("bias")),
      p("rope", bool, dBool(false)),
      p("rope_theta", decimal(thetaRange), dDecimal(10_000)),
      p("dropout", decimal(probabilityRange), dDecimal(0)),
    ],
  ),
  layer(
    "rnn",
    "recurrent",
    featuresLast,
    "an Elman recurrent layer",
    [p("hidden", positive)],
    [...recurrentOptions, p("nonlinearity", enumOf("tanh", "relu"), dEnum("tanh"))],
  ),
  layer("lstm", "recurrent", featuresLast, "a long short-term memory layer", [p("hidden", positive)], recurrentOptions),
  layer("gru", "recurrent", featuresLast, "a gated recurrent unit layer", [p("hidden", positive)], recurrentOptions),
  layer(
    "moe",
    "container",
    featuresLast,
    "a router dense(experts) and `experts` copies of the body; top_k run per token",
    [p("experts", positive), p("top_k", positive)],
    [],
    "required",
  ),
  layer(
    "residual",
    "container",
    { channels: "none", tokenIds: "computes" },
    "x + body(x), or shortcut(x) + body(x)",
    [],
    [p("shortcut", { kind: "body" }, dNone)],
    "required",
  ),

  // Activations
  layer("relu", "activation", elementwise, "max(0, x)"),
  layer("leaky_relu", "activation", elementwise, "x, or negative_slope · x below 0", [
    p("negative_slope", decimal(finiteRange), dDecimal(0.01)),
  ]),
  layer(
    "prelu",
    "activation",
    { ...channelsFirst, channelsUnless: { param: "num_parameters", value: 1n } },
    "leaky relu with a learned slope",
    [p("num_parameters", positive, dInt(1n))],
  ),
  layer("elu", "activation", elementwise, "exponential linear unit", [p("alpha", decimal(finiteRange), dDecimal(1.0))]),
  layer("selu", "activation", elementwise, "scaled exponential linear unit"),
  layer("gelu", "activation", elementwise, "gaussian error linear unit", [
    p("approximate", enumOf("none", "tanh"), dEnum("none")),
  ]),
  silu,
  { ...silu, kind: "swish", description: "alias of silu", aliasOf: "silu" },
  layer("mish", "activation", elementwise, "x · tanh(softplus(x))"),
  layer("sigmoid", "activation", elementwise, "1 / (1 + exp(-x))"),
  layer("hard_sigmoid", "activation", elementwise, "a piecewise linear sigmoid"),
  layer("tanh", "activation", elementwise, "hyperbolic tangent"),
  layer("softplus", "activation", elementwise, "log(1 + exp(beta · x)) / beta", [
    // `nn.Softplus` divides by beta: beta = 0 is 0/0; nnc also rejects beta < 0, which turns the smooth
    // ReLU PyTorch documents into a smooth minimum.
    p("beta", decimal({ min: 0, exclusiveMin: true, why: "softplus divides by beta" }), dDecimal(1)),
    p("threshold", decimal(finiteRange), dDecimal(20)),
  ]),
  layer("softsign", "activation", elementwise, "x / (1 + |x|)"),
  layer("softmax", "activation", elementwise, "softmax along an axis", [p("axis", axis, dInt(-1n))]),
  layer("log_softmax", "activation", elementwise, "log of softmax along an axis", [p("axis", axis, dInt(-1n))]),
  layer("identity", "activation", elementwise, "returns its input"),
];

/** Layer entries by kind name (aliases included). */
export const layerKinds: ReadonlyMap<string, LayerEntry> = new Map(layers.map((entry) => [entry.kind, entry]));

export function layerEntry(kind: string): LayerEntry | undefined {
  return layerKinds.get(kind);
}

/** Options that every layer call and block call accepts. */
export const universalOptions: readonly ParamSpec[] = [
  p("frozen", bool, dBool(false), "the tensors of this call are not trainable"),
  p("tie", { kind: "path" }, dNone, "share the weight of the named layer instead of owning one"),
];

// ── Losses ───────────────────────────────────────────────────────────────────────────────────────────

export interface LossEntry {
  readonly name: string;
  readonly description: string;
  readonly options: readonly ParamSpec[];
}

export const losses: readonly LossEntry[] = [
  { name: "mse", description: "mean squared error", options: [] },
  { name: "cross_entropy", description: "cross entropy on logits, with integer class targets", options: [] },
  {
    name: "binary_cross_entropy",
    description: "binary cross entropy on probabilities (on logits with `logits = true`)",
    options: [p("logits", bool, dBool(false))],
  },
];

export const lossKinds: ReadonlyMap<string, LossEntry> = new Map(losses.map((entry) => [entry.name, entry]));

// ── Assertions ───────────────────────────────────────────────────────────────────────────────────────

export interface ExpectQuantity {
  readonly name: string;
  readonly description: string;
}

export const expectQuantities: readonly ExpectQuantity[] = [
  { name: "params", description: "every parameter, tied tensors counted once" },
  { name: "weights", description: "parameters in weight tensors" },
  { name: "biases", description: "parameters in bias tensors" },
  { name: "buffers", description: "non-parameter state (batchnorm running statistics)" },
  { name: "trainable", description: "parameters not frozen" },
  { name: "non_trainable", description: "frozen parameters" },
  { name: "macs", description: "multiply–accumulates of one forward pass of one sample" },
  { name: "flops", description: "floating-point operations of one forward pass of one sample (2 per MAC)" },
];

export const expectQuantityNames: ReadonlySet<string> = new Set(expectQuantities.map((q) => q.name));

// ── Input types ──────────────────────────────────────────────────────────────────────────────────────

export interface InputDtype {
  readonly name: string;
  readonly description: string;
  /** Token inputs carry a vocabulary (`of 50_257`); float inputs must not. */
  readonly needsVocabulary: boolean;
}

export const inputDtypes: readonly InputDtype[] = [
  { name: "f32", description: "32-bit floats", needsVocabulary: false },
  { name: "f64", description: "64-bit floats", needsVocabulary: false },
  { name: "token", description: "integer token ids, 0 ≤ id < vocabulary", needsVocabulary: true },
];

export const inputDtypeNames: ReadonlyMap<string, InputDtype> = new Map(inputDtypes.map((d) => [d.name, d]));

// ── Describing types for messages ────────────────────────────────────────────────────────────────────

/** `an integer`, ``an integer, a list of 2 integers, `same` or `valid` ``, … */
export function describeType(type: ArgType): string {
  const parts = describeParts(type);
  if (parts.length <= 1) return parts[0] ?? "nothing";
  return `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
}

function describeParts(type: ArgType): string[] {
  switch (type.kind) {
    case "int":
    case "size":
      return [type.min === 1n ? "a positive integer" : type.min === 0n ? "a non-negative integer" : "an integer"];
    case "decimal":
      return ["a number"];
    case "bool":
      return ["`true` or `false`"];
    case "enum":
      return type.values.map((v) => `\`${v}\``);
    case "list": {
      const item = describeType(type.of).replace(/^an? /, "");
      const plural = item.endsWith("integer") || item.endsWith("number") ? `${item}s` : item;
      return [type.length === undefined ? `a list of ${plural}` : `a list of ${type.length} ${plural}`];
    }
    case "oneOf":
      return type.types.flatMap(describeParts);
    case "body":
      return ["a body `{ … }`"];
    case "path":
      return ["a layer name such as `wte` or `encoder.embed`"];
  }
}
