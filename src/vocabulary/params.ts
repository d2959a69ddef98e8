// The types of arguments and options of the vocabulary (what a parameter accepts, its PyTorch default, its
// range) and the building blocks the kind definitions (kinds/) write their signatures with.
import type { MessageArgs } from "../diagnostics/message.js";
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
  | { readonly kind: "path" }
  /** A string literal `"…"`: a name that need not be an identifier (`out_proj = "output.dense"`). */
  | { readonly kind: "string" }
  /** The name of one of the call's own parameter tensors, written as an identifier (`frozen = bias`);
   *  which names the call has is known only from its shape rule, so the analysis checks it. */
  | { readonly kind: "tensorName" };

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
): { message: MessageArgs<"OptionOutOfRange">; note: string; help: string } | undefined {
  if (inRange(value, range)) return undefined;
  const finite = Number.isFinite(value);
  const shown = finite ? String(value) : Number.isNaN(value) ? "NaN" : "a number too large to represent";
  const rule = describeRange(range);
  return {
    message: finite ? ["range", { what, rule, value: shown }] : ["notFinite", { what, value: shown }],
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

/** How NN3005 states that `value` of `what` is below a minimum: "must be positive", "must not be
 *  negative", "must be at least -1". */
export function belowMinimum(what: string, min: bigint, value: bigint): MessageArgs<"NonPositiveSize"> {
  return min === 1n
    ? ["positive", { what, value }]
    : min === 0n
      ? ["notNegative", { what, value }]
      : ["atLeast", { what, min, value }];
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
  /** A string: `q_proj = "q_proj"`. */
  | { readonly kind: "string"; readonly value: string }
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
  /** PyTorch takes it when the module is called, not when it is made (a mask, what to return): the uses of
   *  one instance (`share`) may differ in it. Every other argument is the instance's, the same at each use. */
  readonly perCall?: true;
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
  | { readonly kind: "string"; readonly value: string }
  /** `frozen = bias`: a name of one of the call's own tensors. */
  | { readonly kind: "tensorName"; readonly value: string }
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

// ── Building blocks for the kind definitions ─────────────────────────────────────────────────────────

export const int = (min?: bigint): ArgType => (min === undefined ? { kind: "int" } : { kind: "int", min });
export const positive = int(1n);
export const nonNegative = int(0n);
export const axis: ArgType = { kind: "int", axis: true };
export const decimal = (range: NumberRange): ArgType => ({ kind: "decimal", range });

// Ranges of the decimal options, from PyTorch's documented constraints; where PyTorch checks nothing, the
// range excludes the values that make the arithmetic produce NaN or infinity.
/** `eps` of the norms: PyTorch (`nn.LayerNorm`, `nn.RMSNorm`, `nn.BatchNorm*d`, `nn.GroupNorm`) documents it
 *  as "a value added to the denominator for numerical stability" and does not check it; eps ≤ 0 lets
 *  √(var + eps) be 0 (a constant row divides 0 by 0) or the root of a negative number, so nnc requires > 0. */
export const epsRange: NumberRange = {
  min: 0,
  exclusiveMin: true,
  why: "added under the square root of the variance: eps ≤ 0 gives 0/0 or √(negative)",
};
/** Dropout probability: `nn.Dropout` raises for p outside [0, 1]; nnc also rejects p = 1, since inverted
 *  dropout scales kept elements by 1/(1 − p), which is 1/0 there (and 0 · ∞ = NaN). */
export const probabilityRange: NumberRange = {
  min: 0,
  max: 1,
  exclusiveMax: true,
  why: "a drop probability; p = 1 would scale kept elements by 1/(1 − p) = 1/0",
};
/** Stochastic depth's drop probability: torchvision's `StochasticDepth` raises for p outside [0, 1]; p = 1
 *  drops every sample (torchvision then leaves the zero mask unscaled), so no 1/0 arises. */
export const dropPathRange: NumberRange = {
  min: 0,
  max: 1,
  why: "the probability of dropping a whole sample",
};
/** RoPE base: frequencies are theta^(−2i/d), which need theta > 0 (Su et al., RoFormer; 10 000 there). */
export const thetaRange: NumberRange = {
  min: 0,
  exclusiveMin: true,
  why: "the base of the rotary frequencies theta^(−2i/d) must be positive",
};
/** Any finite number (the coefficient is free in PyTorch: `nn.LeakyReLU` negative_slope, `nn.ELU` alpha,
 *  `nn.Softplus` threshold). */
export const finiteRange: NumberRange = { why: "any finite number" };
export const bool: ArgType = { kind: "bool" };
export const str: ArgType = { kind: "string" };
export const enumOf = (...values: string[]): ArgType => ({ kind: "enum", values });
export const listOf = (of: ArgType, length?: number): ArgType =>
  length === undefined ? { kind: "list", of } : { kind: "list", of, length };
export const oneOf = (...types: ArgType[]): ArgType => ({ kind: "oneOf", types });
/** An integer, or one per spatial axis (`[h, w]`). */
export const intOrPair = (min: bigint): ArgType => oneOf(int(min), listOf(int(min), 2));
/** An integer, or one per spatial axis of a volume (`[d, h, w]`). */
export const intOrTriple = (min: bigint): ArgType => oneOf(int(min), listOf(int(min), 3));
/** An integer, or one per spatial axis when there are several (`rank` 1, 2 or 3). */
export const spatialArg = (rank: number, min: bigint): ArgType =>
  rank === 1 ? int(min) : rank === 2 ? intOrPair(min) : intOrTriple(min);

export const dInt = (value: bigint): DefaultValue => ({ kind: "int", value });
export const dDecimal = (value: number): DefaultValue => ({ kind: "decimal", value });
export const dBool = (value: boolean): DefaultValue => ({ kind: "bool", value });
export const dEnum = (value: string): DefaultValue => ({ kind: "enum", value });
export const dString = (value: string): DefaultValue => ({ kind: "string", value });
export const dSameAs = (param: string): DefaultValue => ({ kind: "sameAs", param });
export const dNone: DefaultValue = { kind: "none" };

export function p(name: string, type: ArgType, def?: DefaultValue, description?: string): ParamSpec {
  return { name, type, ...(def ? { default: def } : {}), ...(description ? { description } : {}) };
}

/** A parameter PyTorch takes at call time (\`ParamSpec.perCall\`). */
export function perCall(spec: ParamSpec): ParamSpec {
  return { ...spec, perCall: true };
}

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
      if (type.of.kind === "tensorName") return ["a list of tensor names"];
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
    case "string":
      return ['a string such as `"q_proj"`'];
    case "tensorName":
      return ["a tensor name of the layer such as `bias`"];
  }
}
