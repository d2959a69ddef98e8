// The invariants of a lowered model (src/ir/ir.ts, "Invariants"), checked: what the tests require of every
// model the lowering pass makes. Returns the problems found, in words; none for a well-formed model.
import { internalOps, opDef } from "../vocabulary/registry.js";
import type { LoweredModel } from "./ir.js";

/** NumPy's broadcast of two per-sample shapes (src/analyze/broadcast.ts is the rule with symbols and
 *  diagnostics); undefined when they do not broadcast. */
function broadcast(l: readonly bigint[], r: readonly bigint[]): bigint[] | undefined {
  const out: bigint[] = [];
  for (let k = 1; k <= Math.max(l.length, r.length); k++) {
    const a = l[l.length - k] ?? 1n;
    const b = r[r.length - k] ?? 1n;
    if (a !== b && a !== 1n && b !== 1n) return undefined;
    out.push(a === 1n ? b : a);
  }
  return out.reverse();
}

export function irProblems(m: LoweredModel): string[] {
  const problems: string[] = [];
  const at = (i: number) => `op ${i} (${m.ops[i]!.kind} \`${m.ops[i]!.name}\`)`;
  // 1. Dense numbering.
  m.values.forEach((v, i) => {
    if (v.id !== i) problems.push(`value ${i} has id ${v.id}`);
    if (v.shape.some((d) => d < 0n)) problems.push(`value ${i} has a negative size`);
    if (v.vocab !== undefined && v.dtype !== "token") problems.push(`value ${i} has a vocabulary but no ids`);
  });
  // 2, 3. Inputs first, then each op's outputs in op order, each made once; reads only what is made.
  const made = new Set<number>();
  m.inputIds.forEach((id, k) => {
    if (id !== k) problems.push(`input ${k} is value ${id}`);
    made.add(id);
  });
  let next = m.inputIds.length;
  m.ops.forEach((op, i) => {
    for (const id of op.inputs) if (!made.has(id)) problems.push(`${at(i)} reads value ${id} before it is made`);
    for (const id of op.outputs) {
      if (id !== next) problems.push(`${at(i)} makes value ${id} where ${next} is next`);
      made.add(id);
      next = Math.max(next, id + 1);
    }
  });
  if (next !== m.values.length) problems.push(`${m.values.length - next} values are made by no op`);
  for (const id of m.outputIds) if (!made.has(id)) problems.push(`output value ${id} is never made`);
  // 4–6. Kinds, internal ops' shapes, names.
  const names = new Set<string>();
  const shape = (id: number) => m.values[id]?.shape.join(",");
  m.ops.forEach((op, i) => {
    const internal = Object.hasOwn(internalOps, op.kind);
    if (!internal && !opDef(op.kind)) problems.push(`${at(i)} is of no emitted kind`);
    if (!internal && op.entry?.kind !== op.kind) problems.push(`${at(i)} has the entry of \`${op.entry?.kind}\``);
    if (op.kind === "add" || op.kind === "sub" || op.kind === "mul") {
      if (op.name !== "") problems.push(`${at(i)} has a name`);
      const [l, r] = op.inputs.map((id) => m.values[id]?.shape);
      const b = l && r ? broadcast(l, r) : undefined;
      if (op.inputs.length !== 2 || op.outputs.length !== 1 || b === undefined)
        problems.push(`${at(i)} does not read two values that broadcast`);
      else if (b.join(",") !== shape(op.outputs[0]!)) problems.push(`${at(i)} does not make their broadcast shape`);
    } else {
      if (op.name.includes("{")) problems.push(`${at(i)} names a range of copies`);
      if (names.has(op.name)) problems.push(`${at(i)}: the name is taken`);
      names.add(op.name);
    }
    if (op.kind === "moe_combine") {
      const experts = op.args.get("experts");
      const count = experts?.kind === "int" ? Number(experts.value) : NaN;
      if (op.inputs.length !== count + 1) problems.push(`${at(i)} reads ${op.inputs.length - 1} experts of ${count}`);
      if (op.inputs.slice(1).some((id) => shape(id) !== shape(op.outputs[0]!)))
        problems.push(`${at(i)}: an expert's output is not of the combination's shape`);
    }
  });
  // 7. Tensors: every op's (but a reuse's), in op order, unique, ties to earlier tensors, one copy each; a
  // reuse reads an earlier op's tensors.
  const listed = m.ops.flatMap((op) => (op.reuses === undefined ? op.tensors : []));
  const instances = new Map<string, number>();
  m.ops.forEach((op, i) => {
    if (op.reuses === undefined) {
      if (op.name !== "") instances.set(op.name, i);
      return;
    }
    const first = instances.get(op.reuses);
    if (first === undefined) problems.push(`${at(i)} reuses \`${op.reuses}\`, no earlier op`);
    else if (m.ops[first]!.kind !== op.kind) problems.push(`${at(i)} reuses an op of another kind`);
    else if (op.tensors.some((t, k) => t.name !== m.ops[first]!.tensors[k]?.name))
      problems.push(`${at(i)}: its tensors are not those of \`${op.reuses}\``);
  });
  if (listed.length !== m.tensors.length || listed.some((t, i) => t !== m.tensors[i]))
    problems.push("the tensors are not the ops' tensors in op order");
  const seen = new Set<string>();
  for (const t of m.tensors) {
    if (seen.has(t.name)) problems.push(`tensor \`${t.name}\` is listed twice`);
    if (t.name.includes("{")) problems.push(`tensor \`${t.name}\` names a range of copies`);
    if (t.tiedTo !== undefined && !seen.has(t.tiedTo)) problems.push(`\`${t.name}\` is tied to no earlier tensor`);
    if (t.multiplicity !== 1n || t.activeMultiplicity !== 1n) problems.push(`tensor \`${t.name}\` has copies`);
    seen.add(t.name);
  }
  return problems;
}
