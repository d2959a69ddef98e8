// The memory plan of a generated module: where every parameter, buffer and activation lives. Built from
// an expanded analysis (every op, every copy). Numbers here are plain JS numbers: a model whose sizes do
// not fit safely is refused before planning (NN9002).
import type { IrOp, IrValue, ModelAnalysis, TensorRecord } from "../analyze/analyze.js";
import type { Init, Role } from "../analyze/types.js";

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

/** Ops whose output is the input's memory, unchanged (`flatten`, `reshape`, `identity`). */
export const aliasKinds: ReadonlySet<string> = new Set(["flatten", "reshape", "identity"]);

export function plan(analysis: ModelAnalysis): Plan {
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
      buffers.push({ name: t.name, shape, role: t.role, offset: b, size, trainable: false, ...(t.init ? { init: t.init } : {}) });
      bufferOffsets.set(t.name, b);
      b += size;
    } else if (t.tiedTo) {
      tied.push(t);
    } else {
      params.push({ name: t.name, shape, role: t.role, offset: p, size, trainable: !t.frozen, ...(t.init ? { init: t.init } : {}) });
      offsets.set(t.name, p);
      p += size;
    }
  }
  for (const t of tied) {
    const offset = offsets.get(t.tiedTo!)!;
    const size = t.shape.reduce((a, x) => a * Number(x), 1);
    params.push({ name: t.name, shape: t.shape.map(Number), role: t.role, offset, size, trainable: !t.frozen, tiedTo: t.tiedTo! });
    offsets.set(t.name, offset);
  }
  const bufferOf = new Map<number, number>();
  for (const op of analysis.ops) {
    if (aliasKinds.has(op.kind)) bufferOf.set(op.outputs[0]!, bufferOf.get(op.inputs[0]!) ?? op.inputs[0]!);
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
 * Whether outputs at positions before t never depend on inputs at positions t and later, for a model with
 * one input whose first axis is a symbolic length: then a call with a shorter sequence is exactly the
 * full-length computation cut to its first positions (the generated code pads the rest). Returns the
 * reason when it is not so.
 */
export function prefixCausal(p: Plan): { ok: true } | { ok: false; why: string } {
  if (p.inputs.length !== 1 || !p.input.symbolicLength) return { ok: false, why: "its input has no symbolic length" };
  if (!p.outputs.every((o) => o.symbolicLength)) return { ok: false, why: "an output does not keep the sequence axis" };
  const rowWise = new Set([
    "dense", "layernorm", "rmsnorm", "embedding", "positional", "rotary", "dropout", "add", "mul", "identity",
    "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish", "sigmoid", "hard_sigmoid", "tanh",
    "softplus", "softsign", "moe_combine",
  ]);
  for (const op of p.ops) {
    if (rowWise.has(op.kind) && (op.kind !== "prelu" || Number(p.values[op.inputs[0]!]!.shape.length) === 1)) continue;
    const arg = (name: string) => op.args.get(name);
    const flag = (name: string, fallback: boolean) => {
      const v = arg(name);
      return v?.kind === "bool" ? v.value : fallback;
    };
    if (op.kind === "attention" && flag("causal", false)) continue;
    if ((op.kind === "lstm" || op.kind === "gru" || op.kind === "rnn") && !flag("bidirectional", false) && flag("sequences", true)) continue;
    if ((op.kind === "softmax" || op.kind === "log_softmax") && (() => {
      const v = arg("axis");
      const rank = p.values[op.inputs[0]!]!.shape.length;
      const axis = v?.kind === "int" ? Number(v.value) : -1;
      return axis === -1 || axis === rank - 1;
    })()) continue;
    return { ok: false, why: `\`${op.name || op.kind}\` (${op.kind}) mixes positions` };
  }
  return { ok: true };
}
