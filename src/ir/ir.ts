// The intermediate representation: operations on numbered values, what the analysis records (once per
// analyzed op, src/analyze/) and what the lowering pass spells out for the code generator (every copy,
// src/lower/). One set of types for both; the invariants below say what holds where.
//
// ── Invariants ──────────────────────────────────────────────────────────────────────────────────────
// Of a lowered model (`LoweredModel`, made by `lower` in src/lower/lower.ts, read by src/emit/), checked by
// `irProblems` (src/ir/check.ts) on every example in the tests:
//  1. Values are numbered densely from 0: `values[i].id === i`.
//  2. The model's inputs are values 0 … k−1 (`inputIds`, in declaration order); every other value is the
//     output of exactly one op, and values are numbered in the order their ops run, so that an op's
//     outputs are numbered above every value it reads (SSA in execution order: `ops` is a valid schedule).
//  3. An op reads only values made before it (model inputs or earlier ops' outputs); `outputIds` name
//     values made by some op or inputs, in the order the model declares its outputs.
//  4. Every op's `kind` is an `EmittedKind` (a layer kind that is an op, aliases resolved, or one of the
//     internal ops `add`, `sub`, `mul`, `moe_combine`); `entry` is the kind's vocabulary entry for layer kinds and
//     absent for the internal ops.
//  5. `add`, `sub` and `mul` read two values whose shapes broadcast (NumPy's rule) and make one of the
//     broadcast shape; `moe_combine` reads the router's
//     scores (`[..., experts]`) and then one output per expert, in expert order, and makes one value of the
//     experts' shape.
//  6. Every op of a layer kind has the unique hierarchical `name` PyTorch's module tree gives it (every
//     copy spelled out: `h.3.attn`, `moe.experts.1.0`, never `{0..11}`); `add`, `sub` and `mul` have the name `""`.
//  7. `tensors` is the concatenation of every op's `tensors`, in op order, but for ops that reuse an
//     instance (`reuses`), whose tensors are an earlier op's, by name; tensor names are unique and are
//     PyTorch's `state_dict` keys; `tiedTo` names an earlier tensor of the list; every `multiplicity` and
//     `activeMultiplicity` is 1.
//  8. A value's `shape` is per sample (the batch axis is not in it), of exact non-negative sizes; `dtype`
//     is `token` only for integer ids (then `vocab` bounds them, when known), `float` otherwise;
//     `symbolicLength` marks a first axis that is a symbolic length (`seq <= 1024`), laid out at its
//     maximum.
//  9. A *view* op (`viewKinds` in src/emit/kernels/index.ts: flatten, reshape, identity …) makes a value
//     whose elements are its input's in the same order: the planner gives it its input's buffer.
// 10. `args` are the arguments as written (evaluated; defaults not applied: `argWithDefault` applies them);
//     `attrs` are what the kind's shape rule resolved from them and the input shape (`same` paddings, a
//     derived head width, kv heads): a kernel reads `attrs` rather than deriving them again.
// Of an analysis (`ModelAnalysis.ops`/`values`, src/analyze/analyze.ts): each op is recorded once per
// *analysis*, not per copy: a repeated body's ops stand for all its copies (names `h.{0..11}.attn`), a
// memoized unit's ops are those of its first analysis (reused units add none), a `moe` records its router
// and one `moe_combine` that reads one expert's output standing for all, and ops of a repeat copy analyzed
// again after a shape change stay listed though no node refers to them. So 1–3 and 6–7 do not hold there;
// 4, 5 (but for `moe_combine`'s inputs), 8 and 10 do. `LayerNode.ops` are indices into these ops.
import type { Span } from "../diagnostics/diagnostic.js";
import type * as A from "../syntax/ast.js";
import type { LayerEntry } from "../vocabulary/layers.js";
import type { Init, ResolvedAttrs, Role } from "../vocabulary/types.js";

/** An argument value as the analysis evaluated it (defaults not applied). */
export type ArgVal =
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "decimal"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "name"; readonly value: string }
  | { readonly kind: "list"; readonly items: readonly ArgVal[] }
  | { readonly kind: "body"; readonly body: A.Body }
  | { readonly kind: "path"; readonly path: readonly string[]; readonly transposed: boolean }
  | { readonly kind: "string"; readonly value: string };

/** A parameter or buffer tensor. */
export interface TensorRecord {
  /** Full hierarchical name; in an analysis, repeated copies appear as `h.{0..11}.attn.out_proj.weight`. */
  readonly name: string;
  readonly shape: readonly bigint[];
  readonly role: Role | "buffer";
  readonly elementBytes?: number;
  readonly init?: Init;
  /** How many copies exist (product of the enclosing `repeat` counts and `moe` expert counts); 1 lowered. */
  readonly multiplicity: bigint;
  /** How many copies are used for one token (differs from `multiplicity` inside `moe`); 1 lowered. */
  readonly activeMultiplicity: bigint;
  readonly frozen: boolean;
  /** For a tied tensor: the name of the tensor it shares (this one is not counted). */
  readonly tiedTo?: string;
  /** A tie to the transpose of that tensor (`tie = transpose(wte)`): this tensor is its target's storage
   *  read transposed. */
  readonly tiedTransposed?: true;
  /** A matrix stored `[in, out]` (`layout = in_out`; `TensorSpec.layout`). */
  readonly layout?: "in_out";
  /** Named by its layer's name alone (`bare = true`; `TensorSpec.bare`): the layer's `weight`. */
  readonly bare?: true;
}

/** One operation: a layer call, value arithmetic, a residual's sum, a `moe`'s router or combining op. */
export interface IrOp {
  /** An `EmittedKind`: a layer kind (aliases resolved), or `add` / `sub` / `mul` / `moe_combine`. */
  readonly kind: string;
  /** The PyTorch module name (`h.3.attn`); `""` for `add`, `sub` and `mul`. */
  readonly name: string;
  /** The kind's vocabulary entry (for a layer kind, and the router's `dense`). */
  readonly entry?: LayerEntry;
  /** Arguments as written (evaluated); the vocabulary's defaults apply to the rest (`argWithDefault`). */
  readonly args: ReadonlyMap<string, ArgVal>;
  /** Value numbers read, in the kind's order (a list input: its items). */
  readonly inputs: readonly number[];
  /** Value numbers made (several for `split`). */
  readonly outputs: readonly number[];
  /** Parameter and buffer tensors of this op. */
  readonly tensors: readonly TensorRecord[];
  /** An op that applies an earlier op's instance again (`share = a`: PyTorch's module reuse): that op's
   *  name (lowered: the instance's own op; in an analysis: the op it is, maybe a reuse itself). Its
   *  `tensors` are that op's, by name, owned there (not listed again in the model's tensors). */
  readonly reuses?: string;
  /** In an analysis only: how many trailing segments of `name` `reuses` ends with (the op's path inside
   *  the call that shares an instance), spelled per copy as the op's own when lowered. */
  readonly reuseTail?: number;
  /** What the kind's shape rule resolved for the code generator (`LayerOutcome.attrs`). */
  readonly attrs?: ResolvedAttrs;
  readonly span: Span;
}

/** A value: one activation per sample. */
export interface IrValue {
  readonly id: number;
  /** Per sample (no batch axis). */
  readonly shape: readonly bigint[];
  readonly dtype: "float" | "token";
  /** Token ids lie in 0 ≤ id < vocab. */
  readonly vocab?: bigint;
  /** The first axis is a symbolic length (`seq <= 1024`), sized here at its maximum. */
  readonly symbolicLength?: boolean;
}

/** A model with every copy spelled out: what the code generator compiles. See the invariants above. */
export interface LoweredModel {
  readonly name: string;
  readonly ops: readonly IrOp[];
  readonly values: readonly IrValue[];
  readonly inputIds: readonly number[];
  readonly outputIds: readonly number[];
  /** The model's inputs as declared (names for the generated API). */
  readonly inputs: readonly { readonly name: string }[];
  /** Every parameter and buffer tensor, in op order (invariant 7). */
  readonly tensors: readonly TensorRecord[];
}

/** An argument as written, or else the vocabulary's default for it (`sameAs` defaults follow the other
 *  argument; `derived` and `none` defaults give undefined). Shared by the analysis, counting's memory
 *  mirror and the code generator. */
export function argWithDefault(
  entry: LayerEntry | undefined,
  given: ReadonlyMap<string, ArgVal>,
  name: string,
): ArgVal | undefined {
  const v = given.get(name);
  if (v) return v;
  const d = entry ? [...entry.args, ...entry.options].find((p) => p.name === name)?.default : undefined;
  switch (d?.kind) {
    case "int":
      return { kind: "int", value: d.value };
    case "decimal":
      return { kind: "decimal", value: d.value };
    case "bool":
      return { kind: "bool", value: d.value };
    case "enum":
      return { kind: "name", value: d.value };
    case "string":
      return { kind: "string", value: d.value };
    case "sameAs":
      return argWithDefault(entry, given, d.param);
    default:
      return undefined;
  }
}
