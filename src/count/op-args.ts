// Reading an op's arguments for the memory figures (memory.ts, eager-peak.ts): with the vocabulary's
// defaults, as the kernels read them (emit/kernel.ts ArgReader).
import { argWithDefault, type ArgVal, type IrOp } from "../ir/ir.js";

/** Argument readers with the vocabulary's defaults, as the kernels read them (emit/kernel.ts ArgReader). */
export function reader(op: IrOp) {
  const get = (name: string): ArgVal | undefined => argWithDefault(op.entry, op.args, name);
  return {
    has: (name: string) => op.args.has(name),
    /** What the shape rule resolved (`IrOp.attrs`: a derived head width, kv heads), as the kernels read it. */
    resolved(name: string): bigint {
      const v = op.attrs?.[name];
      if (typeof v === "bigint") return v;
      throw new Error(`internal: ${op.kind} resolved no single \`${name}\``);
    },
    int(name: string): bigint {
      const v = get(name);
      if (v?.kind === "int") return v.value;
      throw new Error(`internal: ${op.kind} ${name} is not an integer`);
    },
    ints(name: string, rank: number): bigint[] {
      const v = get(name);
      if (v?.kind === "int") return Array.from({ length: rank }, () => v.value);
      if (v?.kind === "list") return v.items.map((i) => (i.kind === "int" ? i.value : 0n));
      throw new Error(`internal: ${op.kind} ${name} is not an integer list`);
    },
    positive(name: string): boolean {
      const v = get(name);
      return (v?.kind === "decimal" || v?.kind === "int") && Number(v.value) > 0;
    },
    bool(name: string): boolean {
      const v = get(name);
      return v?.kind === "bool" ? v.value : false;
    },
    name: (name: string) => {
      const v = get(name);
      return v?.kind === "name" ? v.value : undefined;
    },
  };
}
