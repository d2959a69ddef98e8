// Shapes, values, parameter tensors and the interface between the analysis engine and the per-kind
// semantics of the vocabulary. Everything numeric is an exact bigint.
import type { DiagnosticName } from "../diagnostics/catalogue.js";
import type { Label, Span } from "../diagnostics/diagnostic.js";
import type { MessageArgs } from "../diagnostics/message.js";

/** One axis of a per-sample shape (the batch axis is never written). A symbolic axis (`seq`) carries its
 *  declared maximum as `size`; every figure computed from it is at that maximum. `seq` marks axes that
 *  index a sequence of vectors (token positions, patches), over which `dense` and `attention` apply.
 *  `positions` marks axes that index the positions of a sequence — a symbolic length, the axes of a `token`
 *  input and what `embedding`, recurrent layers, attention and convolutions make of them — and stays with
 *  the axis when it moves (`transpose`, `concat`, `split`); such an axis is never a channel or feature axis
 *  (kind.ts, `ChannelAxis`). */
export interface Dim {
  readonly size: bigint;
  readonly symbol?: string;
  readonly seq?: boolean;
  readonly positions?: boolean;
}

export type Shape = readonly Dim[];

export type DType = "float" | "token";

/** A value flowing through a model: a tensor per sample, or a tuple (`[a, b]`, the result of `split`). */
export interface TensorValue {
  readonly kind: "tensor";
  readonly shape: Shape;
  readonly dtype: DType;
  /** For token ids: ids lie in 0 ≤ id < vocab. */
  readonly vocab?: bigint;
  /** Where the value was produced (a layer, an input), for "this value came from here" labels. */
  readonly origin: Span;
  /** For floats computed from token ids by a kind that does not keep them (`mean`, `+`): where and by
   *  what, so that an `embedding` given them can say where the ids were lost (kind.ts, `TokenIds`). */
  readonly idsLost?: { readonly span: Span; readonly by: string };
  /** The value's number in the model's op list (see `IrOp`), kept through renaming and block calls. */
  readonly id?: number;
}

export interface TupleValue {
  readonly kind: "tuple";
  readonly items: readonly TensorValue[];
  readonly origin: Span;
}

export type Value = TensorValue | TupleValue;

/** What a tensor is, for the weights/biases split (PyTorch's `*.weight` / `*.bias` names; see count/count.ts):
 *  weights = matrix + embedding + normScale + other; biases = bias + normShift. */
export type Role = "matrix" | "embedding" | "normScale" | "bias" | "normShift" | "other";
export const roles: readonly Role[] = ["matrix", "embedding", "normScale", "bias", "normShift", "other"];
export const weightRoles: ReadonlySet<Role> = new Set(["matrix", "embedding", "normScale", "other"]);

/** How PyTorch initializes a tensor by default (used by generated `createParams(seed)`). */
export type Init =
  | { readonly kind: "uniform"; readonly bound: number }
  /** N(0, std²); `zeroRow` (an embedding's `padding_idx`) starts at zero, as PyTorch does. */
  | { readonly kind: "normal"; readonly std: number; readonly zeroRow?: number }
  | { readonly kind: "const"; readonly value: number };

/** PyTorch's default for Linear/Conv weights and biases: kaiming_uniform(a = √5) gives U(±1/√fan_in). */
export function fanInUniform(fanIn: bigint): Init {
  return { kind: "uniform", bound: 1 / Math.sqrt(Number(fanIn)) };
}

/** A tensor a layer owns, named locally (`weight`, `qkv_proj.bias`, `running_mean`). */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly bigint[];
  /** A parameter role, or `buffer` for state that is not a parameter (BatchNorm running statistics). */
  readonly role: Role | "buffer";
  /** Bytes per element when it is not the model's float type (`num_batches_tracked` is int64: 8). */
  readonly elementBytes?: number;
  /** PyTorch's default initialization; absent means zeros. */
  readonly init?: Init;
  /** A matrix stored `[in, out]` (`layout = in_out`, Hugging Face's `Conv1D`: y = x·W + b), the transpose
   *  of `nn.Linear`'s `[out, in]`; its `shape` is already `[in, out]`. Absent: `[out, in]`. */
  readonly layout?: "in_out";
  /** Named by the layer's name alone (`class_token`, not `class_token.weight`): a bare `nn.Parameter` of the
   *  enclosing module, as torchvision's ViT holds `class_token` and `encoder.pos_embedding` (`bare = true`).
   *  A layer has at most one such tensor, its `weight`. */
  readonly bare?: true;
}

/** `layout = out_in | in_out`: how `dense` and `attention` store their matrices (`nn.Linear`'s `[out, in]`,
 *  or HF `Conv1D`'s `[in, out]`). */
export type MatrixLayout = "out_in" | "in_out";

/** A matrix's shape in a layout: `[out, in]` or `[in, out]`. */
export function matrixShape(layout: MatrixLayout, out: bigint, inner: bigint): readonly bigint[] {
  return layout === "in_out" ? [inner, out] : [out, inner];
}

export interface LayerOutcome {
  readonly output: Value | Shape;
  readonly tensors: readonly TensorSpec[];
  /** Multiply–accumulates of one forward pass of one sample. */
  readonly macs: bigint;
  /** A convention the figures depend on (RNN bias convention, …): shown in every report. */
  readonly convention?: string;
  /** What the rule resolved from the arguments and the input that the code generator needs (a `same`
   *  padding's numbers, a head width derived from the input), so that kernels read it instead of deriving
   *  it again: see each kind's `ResolvedAttrs` comment. */
  readonly attrs?: ResolvedAttrs;
}

/** Attributes a shape rule resolved, by name: exact integers, one or one per axis. */
export type ResolvedAttrs = Readonly<Record<string, bigint | readonly bigint[]>>;

export interface FailOptions {
  /** Put the primary span on this argument instead of the whole call. */
  readonly arg?: string;
  readonly help?: string;
  readonly notes?: readonly string[];
  /** Add a label at the input's origin: "this value has shape […]". */
  readonly showInput?: boolean;
  readonly labels?: readonly Label[];
}

/** What a layer's semantics can see of its call. Arguments come with the vocabulary defaults applied. */
export interface LayerCtx {
  readonly kind: string;
  /** The single input (the first item of a tuple input). */
  readonly input: TensorValue;
  /** All inputs: the items of a tuple input, or the single input. */
  readonly inputs: readonly TensorValue[];
  /** Whether the argument was written in the call (not defaulted). */
  has(name: string): boolean;
  int(name: string): bigint;
  /** An integer or `[h, w]`, as a pair. */
  pair(name: string): readonly [bigint, bigint];
  /** A list of integers, or a single integer as a one-item list. */
  ints(name: string): readonly bigint[];
  /** Whether the argument was written as a list (`split([256, 512])`) rather than one integer. */
  isList(name: string): boolean;
  bool(name: string): boolean;
  decimal(name: string): number;
  /** The name of an enum option (`approximate = tanh` → "tanh"); undefined when an integer was given. */
  name(name: string): string | undefined;
  /** A string option (`out_proj = "output.dense"`). */
  string(name: string): string;
  /** Reports an error and returns undefined, for `return ctx.fail(…)`. */
  fail<N extends DiagnosticName>(code: N, message: MessageArgs<N>, options?: FailOptions): undefined;
}

export type LayerSemantics = (ctx: LayerCtx) => LayerOutcome | undefined;

// ── shape helpers ────────────────────────────────────────────────────────────────────────────────────

export function dim(size: bigint, seq = false): Dim {
  return seq ? { size, seq: true } : { size };
}

export function showDim(d: Dim): string {
  return d.symbol ? `${d.symbol}≤${d.size}` : String(d.size);
}

export function showShape(shape: Shape): string {
  return `[${shape.map(showDim).join(", ")}]`;
}

export function showValue(v: Value): string {
  return v.kind === "tensor" ? showShape(v.shape) : `(${v.items.map((i) => showShape(i.shape)).join(", ")})`;
}

export function sameDim(a: Dim, b: Dim): boolean {
  return a.size === b.size && (a.symbol ?? "") === (b.symbol ?? "");
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => sameDim(d, b[i]!));
}

export function elements(shape: readonly bigint[]): bigint {
  return shape.reduce((a, b) => a * b, 1n);
}

export function product(shape: Shape): bigint {
  return shape.reduce((a, d) => a * d.size, 1n);
}

/** Normalizes a possibly negative axis against a rank; undefined when out of range. */
export function normalizeAxis(axis: bigint, rank: number): number | undefined {
  const a = axis < 0n ? Number(axis) + rank : Number(axis);
  return a >= 0 && a < rank ? a : undefined;
}
