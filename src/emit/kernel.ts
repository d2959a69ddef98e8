// The interface between the module assembler and the per-kind code generators ("kernels"): one entry per
// layer kind, each emitting the forward statements and the backward (gradient) statements of one op.
//
// Conventions of the generated code every kernel follows:
// - `n` is the batch size; activations are batch-major: sample `b` of a value of `size` elements starts at
//   `b * size`.
// - `p` is the flat parameter array, `gp` the flat parameter-gradient array, `bf` the buffer array.
// - Backward ACCUMULATES (`+=`) into input gradients and parameter gradients: a value read by several ops
//   gets the sum of their gradients. The assembler zeroes every gradient before a backward pass, except
//   the arrays a kernel claimed (`claimInputGrad`, `claimParamGrad`): their first writer assigns them.
// - `training` is a boolean in scope (batch statistics, dropout masks).
// - Generated code passes `noUncheckedIndexedAccess`: every array element read is written `a[i]!`, an
//   accumulation `a[i]! += v`, a plain store `a[i] = v` (erased at compile time: no run-time cost).
// - An op's function gets `p`, `gp`, `n` and `training` only when its code names them (module.ts).
import { argWithDefault, type ArgVal, type IrOp } from "../ir/ir.js";
import type { LayerEntry } from "../vocabulary/layers.js";
import type { EmittedKind } from "../vocabulary/registry.js";
import type { ConvShape } from "./wasm/conv.js";
import type { GradientFunction, OutputGradientFunction, UnaryFunction } from "./wasm/math.js";

export interface EmitOptions {
  /** `float32` (default) or `float64` storage; arithmetic is always in doubles. */
  readonly dtype: "float32" | "float64";
  /** Dense layers with at most this many multiply–adds are fully unrolled into straight-line code. */
  readonly unrollLimit: number;
  /** Output columns per register tile of the looped matrix kernel. */
  readonly tileColumns: number;
  /** Layer copies with the same code share one function (shared.ts); default true. `false` gives every op
   *  its own, for tests that compare the two. */
  readonly share?: boolean;
  /** \`ts\`: TypeScript kernels only; \`wasm\` / \`auto\`: dense layers above the unroll limit also on
   *  WebAssembly SIMD kernels embedded in the module (wasm/target.ts), \`wasm\` refusing to load without SIMD.
   *  Default \`ts\` here; \`compile()\` defaults to \`auto\`. */
  readonly target?: "ts" | "wasm" | "auto";
}

export interface EmitCtx {
  readonly op: IrOp;
  /** Input activation arrays (generated-code expressions), one per input. */
  readonly x: readonly string[];
  /** Output activation arrays, one per output. */
  readonly y: readonly string[];
  /** Input gradient arrays (accumulate into them). */
  readonly gx: readonly string[];
  /** Output gradient arrays. */
  readonly gy: readonly string[];
  /** Per input, whether its gradient is wanted, as a generated-code boolean: `true`, or — for a model input —
   *  `inputGradWanted` (false in a training step, where nothing reads the input's gradient). A kernel may
   *  skip the input-gradient work when it is false; the array then stays zero. */
  readonly gxWanted: readonly string[];
  readonly inShapes: readonly (readonly number[])[];
  readonly outShapes: readonly (readonly number[])[];
  /** Elements per sample of each input / output. */
  readonly inSizes: readonly number[];
  readonly outSizes: readonly number[];
  /** Whether each input's first axis is a symbolic sequence length: a call may then use fewer positions
   *  (`seqLength`, a number in scope in generated code); see `lengthSupport` in plan.ts. */
  readonly inSymbolic: readonly boolean[];
  /** Asks to ASSIGN (not accumulate) input `j`'s gradient: true when this op is the first in the backward
   *  pass to write that array and nothing else writes it before — then the module does not zero the array,
   *  and the kernel must write every element of it (`=`) in every call (or, with `gxWanted` false, none).
   *  Ask only from a kernel that does so; it is never required. */
  claimInputGrad(j: number): boolean;
  /** The same for the gradients of parameter tensors, each given as [offset, size] (the whole tensor): true
   *  when no other op shares any of them (no tie) — all or none are claimed; the kernel then assigns all of
   *  them in every call. */
  claimParamGrads(tensors: readonly (readonly [number, number])[]): boolean;
  /** Offset of one of this op's parameter tensors in `p` / `gp` (`weight`, `bias`, `qkv_proj.weight`). */
  param(local: string): number;
  hasParam(local: string): boolean;
  /** Whether a matrix of this op is read as `[in, out]` from its place in `p`: stored so
   *  (`layout = in_out`) or tied to the transpose of another's `[out, in]` storage (`tie = transpose(a)`),
   *  and not both (a transposed tie of an `[in, out]` matrix reads `[out, in]`). */
  transposedParam(local: string): boolean;
  /** Offset of one of this op's buffers in `bf`. */
  buffer(local: string): number;
  /** A scratch array of `perSample` × n elements, kept between forward and backward. Returns its name. */
  scratch(label: string, perSample: number): string;
  /** A workspace of `size` elements, allocated once (not scaled by the batch), for use within one call. */
  workspace(label: string, size: number): string;
  /** A fresh identifier prefix, unique in the module. */
  readonly id: string;
  readonly args: ArgReader;
  readonly options: EmitOptions;
  /** An inference build (`--bake-weights`): no backward pass follows, so a forward keeps nothing for one
   *  (no scratch array for x̂, masks or argmaxes is requested or written). */
  readonly inference: boolean;
  /** A parameter element as an expression: `p[k]`, or its value as a literal in a build with baked
   *  weights (`--bake-weights`), where straight-line code then multiplies by constants. */
  weight(index: number): string;
  /** With the WebAssembly target: the index of the SIMD kernels of a dense layer \`IN → OUT\` (PyTorch's
   *  [out, in] weight), whose calls then go to \`wasmDenseForward\` / \`wasmDenseBackward\` when the parameters
   *  live in a WebAssembly memory (\`arena\` in generated code). Absent: TypeScript only. \`staged\` false: the
   *  caller runs the kernels itself (wasm/recurrent.ts), so those two functions are not needed for it.
   *  \`inOut\`: the weight is stored [in, out] (a matrix of \`layout = in_out\` with row stride OUT, not a column
   *  block of a wider one); its calls go to \`wasmDenseInOutForward\` / \`wasmDenseInOutBackward\`. */
  readonly wasmDense?: (
    inFeatures: number,
    outFeatures: number,
    bias: boolean,
    staged?: boolean,
    inOut?: boolean,
  ) => number;
  /** With the WebAssembly target: the kernel index of a fused [in, out] projection \`IN → Q + 2·KV\` whose
   *  output columns are three arrays (attention's q, k, v), called through \`wasmDenseInOutForward3\` /
   *  \`wasmDenseInOutBackward3\`. Absent: TypeScript only. */
  readonly wasmDenseSplit?: (inFeatures: number, q: number, kv: number, bias: boolean) => number;
  /** With the WebAssembly target: the index of the SIMD kernels of a convolution (a group's `outChannels`
   *  weight rows of `taps` = in/groups · Π kernel, `plane` output positions, the group's input `geometry`
   *  for im2col; wasm/conv.ts), whose code then runs them when the parameters live in a WebAssembly memory;
   *  undefined when its scratch would not fit that memory (TypeScript only, as when absent). `transposed`: a
   *  transposed convolution, run on the kernels of the convolution whose input is its output. */
  readonly wasmConv?: (shape: Omit<ConvShape, "dtype">, transposed?: boolean) => number | undefined;
  /** With the WebAssembly target: the index of the dense SIMD kernels (in `headDim`, out `keys`) that run an
   *  attention layer's per-head products (wasm/attention.ts), its scratch reserved; undefined when that
   *  scratch would not fit the memory (TypeScript only, as when absent). */
  readonly wasmAttention?: (headDim: number, queries: number, keys: number) => number | undefined;
  /** With the WebAssembly target: the index of the SIMD kernel of an exp-based activation (wasm/math.ts),
   *  whose forward then calls `wasmUnary` when the parameters live in a WebAssembly memory; undefined in a
   *  float64 build (TypeScript only, as when absent). */
  readonly wasmUnary?: (fn: UnaryFunction) => number | undefined;
  /** The same for an activation's gradient (wasm/math.ts: SiLU's and GELU's in float32 builds, tanh's and
   *  sigmoid's in both), its backward then calling `wasmUnaryGrad`; `accumulate`: the kernel adds into the
   *  input's gradient. */
  readonly wasmUnaryGrad?: (fn: GradientFunction | OutputGradientFunction, accumulate: boolean) => number | undefined;
}

export interface Kernel {
  forward(c: EmitCtx): string;
  /** Omitted: the op has no gradient to pass (never the case for the kinds we emit). */
  backward(c: EmitCtx): string;
}

/** The kernels of one file of kernels/, by op kind: a name that is no op kind does not compile. The table
 *  (kernels/index.ts) must cover every `EmittedKind`. */
export type KernelFamily = Readonly<Partial<Record<EmittedKind, Kernel>>>;

/** Reads an op's arguments with the vocabulary's defaults applied. */
export class ArgReader {
  constructor(
    private readonly args: ReadonlyMap<string, ArgVal>,
    private readonly entry: LayerEntry | undefined,
  ) {}

  get(name: string): ArgVal | undefined {
    return argWithDefault(this.entry, this.args, name);
  }

  has(name: string): boolean {
    return this.args.has(name);
  }

  int(name: string): number {
    const v = this.get(name);
    if (v?.kind === "int") return Number(v.value);
    throw new Error(`internal: ${name} is not an integer`);
  }

  pair(name: string): [number, number] {
    const v = this.get(name);
    if (v?.kind === "int") return [Number(v.value), Number(v.value)];
    if (v?.kind === "list" && v.items.length === 2) {
      const [a, b] = v.items;
      if (a?.kind === "int" && b?.kind === "int") return [Number(a.value), Number(b.value)];
    }
    throw new Error(`internal: ${name} is not an integer pair`);
  }

  /** An integer or a list of `rank` integers, one per spatial axis. */
  axes(name: string, rank: number): number[] {
    const v = this.get(name);
    if (v?.kind === "int") return Array.from({ length: rank }, () => Number(v.value));
    if (v?.kind === "list" && v.items.length === rank && v.items.every((i) => i.kind === "int")) {
      return v.items.map((i) => Number((i as { value: bigint }).value));
    }
    throw new Error(`internal: ${name} is not an integer or ${rank} integers`);
  }

  bool(name: string): boolean {
    const v = this.get(name);
    if (v?.kind === "bool") return v.value;
    throw new Error(`internal: ${name} is not a boolean`);
  }

  decimal(name: string): number {
    const v = this.get(name);
    if (v?.kind === "decimal") return v.value;
    if (v?.kind === "int") return Number(v.value);
    throw new Error(`internal: ${name} is not a number`);
  }

  name(name: string): string | undefined {
    const v = this.get(name);
    return v?.kind === "name" ? v.value : undefined;
  }

  string(name: string): string {
    const v = this.get(name);
    if (v?.kind === "string") return v.value;
    throw new Error(`internal: ${name} is not a string`);
  }
}

/** What the op's shape rule resolved (`IrOp.attrs`, from `LayerOutcome.attrs`: a `same` padding's numbers, a
 *  derived head width), one integer per item; a kernel reads it rather than deriving it again. */
export function resolvedInts(op: IrOp, name: string): number[] {
  const v = op.attrs?.[name];
  if (v === undefined) throw new Error(`internal: \`${op.kind}\` resolved no \`${name}\``);
  return typeof v === "bigint" ? [Number(v)] : v.map(Number);
}

export function resolvedInt(op: IrOp, name: string): number {
  const [v, ...rest] = resolvedInts(op, name);
  if (v === undefined || rest.length > 0) throw new Error(`internal: \`${name}\` is not one integer`);
  return v;
}

/** A number as a TypeScript literal that reads back to the same double; negative values are parenthesized
 *  so that they can stand after any operator (`-(-2) * x`), and -0, NaN and the infinities survive. */
export function lit(x: number): string {
  if (Object.is(x, -0)) return "-0";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return x < 0 ? `(${x})` : String(x);
}
