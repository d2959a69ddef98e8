// The lowering pass: an analyzed model (src/analyze/, one record per analysis: a repeated body once for
// all its copies, a memoized unit once for all its uses) to the lowered model the code generator compiles
// (src/ir/ir.ts), with every copy of every `repeat` and every `moe` expert spelled out, in execution order.
//
// It walks the analysis's layer tree. A node's own ops (`LayerNode.ops`, indices into `ModelAnalysis.ops`)
// run among its children where `LayerNode.opsAt` says. Each op is copied with fresh value numbers (the
// model's inputs first, then every op's outputs as it runs), its name and its tensors' names spelled for the
// copy (`h.{0..11}.attn` → `h.3.attn`). A node that stands for several copies (a repeated element, a moe's
// experts) is walked once per copy: a repeat's copies in a chain (each reads the previous one's output), a
// moe's experts side by side (each reads the moe's input; the combining op reads all their outputs). A
// reused unit (a view, src/analyze/shared.ts) is walked as its first analysis, whose value numbers its
// `reuse` pairs lead to and from the numbers around it, and whose names its own name replaces.
//
// Lowering costs what it makes: call it only on a model within code generation's budgets
// (src/emit/budgets.ts, from `ModelAnalysis.expansion`, which counts exactly what this lists).
import type { ModelAnalysis } from "../analyze/analyze.js";
import type { LayerNode } from "../analyze/records.js";
import { sharedOrigin } from "../analyze/shared.js";
import type { IrOp, IrValue, LoweredModel, TensorRecord } from "../ir/ir.js";

/** Value numbers of the analysis (in one coordinate space: the model's, or a reused unit's first
 *  analysis's) to value numbers of the lowered model. */
type Values = Map<number, number>;

/** Names of the analysis (in the same space) to the lowered model's names. */
type Names = (name: string) => string;

/** Segments of an analysis name (`h.{0..11}.attn` → `h`, `{0..11}`, `attn`). */
const segments = (name: string): string[] => name.match(/\{[^}]*\}|[^.]+/g) ?? [];

export function lower(analysis: ModelAnalysis): LoweredModel {
  const ops: IrOp[] = [];
  const values: IrValue[] = [];
  const tensors: TensorRecord[] = [];

  /** Lowered ops by name, for the ops that apply an instance again. */
  const byName = new Map<string, IrOp>();
  const reusedOp = (reuses: string, tail: number, name: string, names: Names): IrOp => {
    const r = segments(reuses);
    const l = segments(name);
    const head = r.slice(0, r.length - tail).join(".");
    const end = l.slice(l.length - tail).join(".");
    const start = head === "" ? "" : names(head);
    const full = start === "" ? end : end === "" ? start : `${start}.${end}`;
    const op = byName.get(full);
    if (!op) throw new Error(`internal: \`${name}\` reuses \`${full}\`, which is not lowered before it`);
    return op;
  };

  const lookup = (map: Values, id: number): number => {
    const v = map.get(id);
    if (v === undefined) throw new Error(`internal: value ${id} read before it is made`);
    return v;
  };

  /** A fresh lowered value for analysis value `id`. */
  const make = (map: Values, id: number): number => {
    const v = analysis.values[id];
    if (!v) throw new Error(`internal: no value ${id}`);
    const lowered = values.length;
    values.push({ ...v, id: lowered });
    map.set(id, lowered);
    return lowered;
  };

  const emit = (index: number, map: Values, names: Names, inputs?: readonly number[]): void => {
    const op = analysis.ops[index]!;
    const read = inputs ?? op.inputs.map((id) => lookup(map, id));
    const name = op.name === "" ? "" : names(op.name);
    // An op applying an instance again: the lowered op it is (the instance's end of its name spelled for
    // this copy, the rest as this copy's end: `b.1.fc` is `a.1.fc`), whose tensors and instance it takes.
    const { reuseTail, ...rest } = op;
    const reused = op.reuses === undefined ? undefined : reusedOp(op.reuses, reuseTail ?? 0, name, names);
    const own =
      reused?.tensors ??
      op.tensors.map((t): TensorRecord => ({
        ...t,
        name: names(t.name),
        multiplicity: 1n,
        activeMultiplicity: 1n,
        ...(t.tiedTo !== undefined ? { tiedTo: names(t.tiedTo) } : {}),
      }));
    const lowered: IrOp = {
      ...rest,
      name,
      inputs: read,
      outputs: op.outputs.map((id) => make(map, id)),
      tensors: own,
      ...(reused ? { reuses: reused.reuses ?? reused.name } : {}),
    };
    ops.push(lowered);
    if (name !== "") byName.set(name, lowered);
    // An op that applies an instance again reads the instance's tensors, listed where the instance is.
    if (op.reuses === undefined) tensors.push(...own);
  };

  /** A node's own ops and its children, in the order they run. */
  const body = (n: LayerNode, map: Values, names: Names): void => {
    if (n.kind === "moe" && n.children.length === 1 && n.children[0]!.kind === "experts" && n.ops.length === 2) {
      moe(n, map, names);
      return;
    }
    let next = 0;
    const opsUpTo = (children: number) => {
      for (; next < n.ops.length && n.opsAt[next]! <= children; next++) emit(n.ops[next]!, map, names);
    };
    n.children.forEach((child, i) => {
      opsUpTo(i);
      node(child, map, names);
    });
    opsUpTo(Infinity);
  };

  /** A `moe`: the router, every expert on the moe's input, then the combining op on the router's scores and
   *  every expert's output. In the analysis, what reads the moe reads its one analyzed expert's output
   *  (standing for the combination): here it reads the combination. */
  const moe = (n: LayerNode, map: Values, names: Names): void => {
    const [router, combine] = n.ops as [number, number];
    emit(router, map, names);
    const experts = n.children[0]!;
    const outputs: number[] = [];
    node(experts, map, names, outputs);
    const op = analysis.ops[combine]!;
    emit(combine, map, names, [lookup(map, op.inputs[0]!), ...outputs]);
    const combined = lookup(map, op.outputs[0]!);
    for (const id of experts.flow?.outputs ?? []) map.set(id, combined);
  };

  /** A child node: a reused unit through its first analysis, every copy it stands for. With `parallel`
   *  (a moe's experts), the copies all read the node's input and their outputs are collected there;
   *  otherwise each copy reads the previous one's output. */
  const node = (n: LayerNode, map: Values, names: Names, parallel?: number[]): void => {
    if (!n.reuse) {
      copies(n, n, map, names, parallel);
      return;
    }
    const origin = sharedOrigin(n);
    const inner: Values = new Map(n.reuse.inputs.map(([first, here]) => [first, lookup(map, here)]));
    copies(n, origin, inner, names, parallel);
    for (const [first, here] of n.reuse.outputs) map.set(here, lookup(inner, first));
  };

  /** The copies `n` stands for, each walked as `origin` (itself, or the first analysis it reuses). */
  const copies = (n: LayerNode, origin: LayerNode, map: Values, names: Names, parallel?: number[]): void => {
    const range = copyRange(n);
    const flow = origin.flow ?? { inputs: [], outputs: [] };
    // The inputs each copy takes from the previous one (not the outer values a repeated call also reads).
    const chained = origin.chained ?? flow.inputs;
    // What the input's numbers meant before: a chain of copies rebinds them, and the value it ran on may be
    // read again after it (a residual's skip connection).
    const before = chained.map((id) => map.get(id));
    for (let k = 0n; k < n.count; k++) {
      const name = range ? `${range.parent}${range.from + k}` : n.name;
      const inCopy = renamed(origin.name, name, names);
      if (k > 0n && !parallel) {
        const previous = flow.outputs.map((id) => lookup(map, id));
        chained.forEach((id, i) => map.set(id, previous[i]!));
      }
      body(origin, map, inCopy);
      if (parallel) for (const id of flow.outputs) parallel.push(lookup(map, id));
    }
    if (n.count > 1n && !parallel) {
      const last = flow.outputs.map((id) => lookup(map, id));
      chained.forEach((id, i) => (before[i] === undefined ? map.delete(id) : map.set(id, before[i])));
      flow.outputs.forEach((id, i) => map.set(id, last[i]!));
    }
  };

  const map: Values = new Map();
  const inputIds = analysis.inputIds.map((id) => make(map, id));
  body(analysis.root, map, (name) => name);
  return {
    name: analysis.name,
    ops,
    values,
    inputIds,
    outputIds: analysis.outputIds.map((id) => lookup(map, id)),
    inputs: analysis.inputs.map((i) => ({ name: i.name })),
    tensors,
  };
}

/** The copies a node's name spells as a range (`h.{0..11}`, `moe.experts.{0..7}`): the name before the
 *  range and its first copy. A node of one copy with no range (`h.0`) is its own name. */
function copyRange(n: LayerNode): { parent: string; from: bigint } | undefined {
  const m = /^(.*)\{(\d+)\.\.(\d+)\}$/.exec(n.name);
  if (!m) {
    if (n.count !== 1n) throw new Error(`internal: ${n.name} stands for ${n.count} copies but names no range`);
    return undefined;
  }
  const from = BigInt(m[2]!);
  if (BigInt(m[3]!) - from + 1n !== n.count)
    throw new Error(`internal: ${n.name} names a range of another length than its ${n.count} copies`);
  return { parent: m[1]!, from };
}

/** Names under `from` read under `to`, then through `outer`; other names only through `outer` (a tie to a
 *  layer outside the copy). */
function renamed(from: string, to: string, outer: Names): Names {
  if (from === to) return outer;
  return (name) => outer(name === from ? to : name.startsWith(`${from}.`) ? to + name.slice(from.length) : name);
}
