// The memory plan of a generated module: where every parameter, buffer and activation lives. Built from
// a lowered model (every op, every copy: src/lower/). Numbers here are plain JS numbers: a model whose sizes do
// not fit safely is refused before planning (NN9002).
import type { IrOp, IrValue, LoweredModel, TensorRecord } from "../ir/ir.js";
import type { Init, Role } from "../vocabulary/types.js";
import { positionUse } from "../vocabulary/registry.js";
import { viewKinds } from "./kernels/index.js";

export interface PlannedTensor {
  /** PyTorch `state_dict` name. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: Role | "buffer";
  /** Offset into the flat parameter (or buffer) array, in elements. */
  readonly offset: number;
  readonly size: number;
  readonly trainable: boolean;
  /** For a tied tensor: the tensor whose storage it shares (same offset). */
  readonly tiedTo?: string;
  /** A tie to the transpose (`tie = transpose(a)`): element (r, c) is the target's (c, r). */
  readonly tiedTransposed?: true;
  readonly init?: Init;
}

export interface PlannedValue {
  readonly id: number;
  readonly shape: readonly number[];
  /** Elements per sample. */
  readonly size: number;
  readonly dtype: "float" | "token";
  /** For token ids: ids lie in 0 ≤ id < vocab. */
  readonly vocab?: number;
  /** The first axis is a symbolic length, laid out here at its maximum. */
  readonly symbolicLength?: boolean;
  /** The buffer it lives in: its own, or the buffer of the value it aliases (flatten, reshape). */
  readonly buffer: number;
}

export interface Plan {
  readonly model: string;
  readonly params: readonly PlannedTensor[];
  readonly paramCount: number;
  readonly buffers: readonly PlannedTensor[];
  readonly bufferCount: number;
  readonly values: readonly PlannedValue[];
  readonly ops: readonly IrOp[];
  /** The model's inputs and outputs, in order (`input` / `output`: the first of each). */
  readonly inputs: readonly (PlannedValue & { readonly name: string })[];
  readonly outputs: readonly PlannedValue[];
  readonly input: PlannedValue;
  readonly output: PlannedValue;
  /** Offsets of every tensor by full name (tied tensors resolve to their target's offset). */
  readonly offsets: ReadonlyMap<string, number>;
  readonly bufferOffsets: ReadonlyMap<string, number>;
}

export function plan(analysis: LoweredModel): Plan {
  const params: PlannedTensor[] = [];
  const buffers: PlannedTensor[] = [];
  const offsets = new Map<string, number>();
  const bufferOffsets = new Map<string, number>();
  let p = 0;
  let b = 0;
  const tied: TensorRecord[] = [];
  for (const t of analysis.tensors) {
    const size = t.shape.reduce((a, x) => a * Number(x), 1);
    const shape = t.shape.map(Number);
    if (t.role === "buffer") {
      buffers.push({
        name: t.name,
        shape,
        role: t.role,
        offset: b,
        size,
        trainable: false,
        ...(t.init ? { init: t.init } : {}),
      });
      bufferOffsets.set(t.name, b);
      b += size;
    } else if (t.tiedTo) {
      tied.push(t);
    } else {
      params.push({
        name: t.name,
        shape,
        role: t.role,
        offset: p,
        size,
        trainable: !t.frozen,
        ...(t.init ? { init: t.init } : {}),
      });
      offsets.set(t.name, p);
      p += size;
    }
  }
  for (const t of tied) {
    const offset = offsets.get(t.tiedTo!)!;
    const size = t.shape.reduce((a, x) => a * Number(x), 1);
    params.push({
      name: t.name,
      shape: t.shape.map(Number),
      role: t.role,
      offset,
      size,
      trainable: !t.frozen,
      tiedTo: t.tiedTo!,
      ...(t.tiedTransposed ? { tiedTransposed: true as const } : {}),
    });
    offsets.set(t.name, offset);
  }
  const bufferOf = new Map<number, number>();
  for (const op of analysis.ops) {
    if (viewKinds.has(op.kind)) bufferOf.set(op.outputs[0]!, bufferOf.get(op.inputs[0]!) ?? op.inputs[0]!);
  }
  const values: PlannedValue[] = analysis.values.map((v: IrValue) => ({
    id: v.id,
    shape: v.shape.map(Number),
    size: v.shape.reduce((a, x) => a * Number(x), 1),
    dtype: v.dtype,
    ...(v.vocab !== undefined ? { vocab: Number(v.vocab) } : {}),
    ...(v.symbolicLength ? { symbolicLength: true } : {}),
    buffer: bufferOf.get(v.id) ?? v.id,
  }));
  const inputs = analysis.inputIds.map((id, k) => ({ ...values[id]!, name: analysis.inputs[k]?.name ?? `input${k}` }));
  const outputs = analysis.outputIds.map((id) => values[id]!);
  return {
    model: analysis.name,
    params,
    paramCount: p,
    buffers,
    bufferCount: b,
    values,
    ops: analysis.ops,
    inputs,
    outputs,
    input: inputs[0]!,
    output: outputs[0]!,
    offsets,
    bufferOffsets,
  };
}

/**
 * Whether a call may give a sequence length t below the declared maximum: outputs at positions before t
 * must never depend on inputs at positions t and later once the padded keys are masked out of
 * non-causal attention. Then such a call is exactly the full-length computation cut to its first positions
 * (the generated code pads the rest). Returns the reason when it is not so.
 */
export function lengthSupport(p: Plan): { ok: true } | { ok: false; why: string } {
  const symbolic = p.inputs.filter((v) => v.symbolicLength);
  if (symbolic.length === 0) return { ok: false, why: "no input has a symbolic length" };
  if (symbolic.some((v) => v.shape[0] !== symbolic[0]!.shape[0]))
    return { ok: false, why: "its inputs have different maximum lengths" };
  for (const op of p.ops) {
    const use = positionUse(op.kind);
    const arg = (name: string) => op.args.get(name);
    const lookup = {
      int: (name: string, fallback: number) => {
        const v = arg(name);
        return v?.kind === "int" ? Number(v.value) : fallback;
      },
      flag: (name: string, fallback: boolean) => {
        const v = arg(name);
        return v?.kind === "bool" ? v.value : fallback;
      },
    };
    const rank = p.values[op.inputs[0]!]!.shape.length;
    // How each kind uses positions is part of its definition (`PositionUse` in src/vocabulary/kind.ts).
    if (use === "apart" || (typeof use === "function" && use(lookup, rank))) continue;
    return { ok: false, why: `\`${op.name || op.kind}\` (${op.kind}) mixes positions` };
  }
  return { ok: true };
}
