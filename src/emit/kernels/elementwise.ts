// Value arithmetic: `a + b` (residual add), `a - b` and `a * b` (gating), broadcasting as NumPy and PyTorch
// do (src/analyze/broadcast.ts: per-sample shapes aligned from the last axis, size-1 axes repeated), and the
// shape ops whose output is the input's memory (flatten, reshape, identity: the `view` kernel, nothing to
// emit; plan.ts gives their output the input's buffer, `viewKinds` in kernels/index.ts).
//
// Operands of equal shapes take one flat loop. A broadcast takes nested loops over the output's axes, with
// runs of adjacent axes that each operand either has in full or repeats merged into one loop (an
// excitation gate [C, 1, 1] over [C, H, W] is two loops: C, then H·W); an operand's gradient is the sum of
// the output's gradient over the axes it repeats, which the loops accumulate (`+=`) as backward always does.
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";

type Arith = "add" | "sub" | "mul";

const symbol: Record<Arith, string> = { add: "+", sub: "-", mul: "*" };
const title: Record<Arith, string> = { add: "add", sub: "subtract", mul: "multiply" };

/** The output's axes merged into runs: per run its length and each operand's stride (0 where it repeats). */
export function broadcastLoops(
  out: readonly number[],
  a: readonly number[],
  b: readonly number[],
): { size: number; strides: [number, number] }[] {
  const rank = out.length;
  const padded = (s: readonly number[]) => [...Array<number>(rank - s.length).fill(1), ...s];
  const [pa, pb] = [padded(a), padded(b)];
  // Per axis (from the last): whether each operand has it in full (size > 1 or the output's size is 1).
  const runs: { size: number; has: [boolean, boolean] }[] = [];
  for (let k = rank - 1; k >= 0; k--) {
    const size = out[k]!;
    if (size === 1) continue;
    const has: [boolean, boolean] = [pa[k] === size, pb[k] === size];
    const last = runs[runs.length - 1];
    if (last && last.has[0] === has[0] && last.has[1] === has[1]) last.size *= size;
    else runs.push({ size, has });
  }
  // Strides from the innermost run out: an operand's stride is the product of the runs it has inside.
  const inner: [number, number] = [1, 1];
  const loops = runs.map((r) => {
    const strides: [number, number] = [r.has[0] ? inner[0] : 0, r.has[1] ? inner[1] : 0];
    if (r.has[0]) inner[0] *= r.size;
    if (r.has[1]) inner[1] *= r.size;
    return { size: r.size, strides };
  });
  return loops.reverse();
}

/** Whether both operands have every element of the output (equal shapes, up to size-1 axes): one flat loop. */
function sameShapes(c: EmitCtx): boolean {
  return c.inSizes[0] === c.outSizes[0] && c.inSizes[1] === c.outSizes[0];
}

/** The statement for each element, with `i` the output index and `ia`, `ib` the operands'. */
type Body = (i: string, ia: string, ib: string) => string;

/** Loops over the batch and the output's merged axes, with the operands' indices kept alongside. */
function loops(c: EmitCtx, body: Body): string {
  const out = c.outShapes[0]!;
  const runs = broadcastLoops(out, c.inShapes[0]!, c.inShapes[1]!);
  const [A, B] = [c.inSizes[0]!, c.inSizes[1]!];
  const lines: string[] = [`for (let s = 0, i = 0; s < n; s++) {`];
  // Each operand's index at the start of a run's loop body: its sample's start, plus each outer run's step.
  let ia = `s * ${A}`;
  let ib = `s * ${B}`;
  runs.forEach((r, k) => {
    const v = `j${k}`;
    lines.push(`for (let ${v} = 0; ${v} < ${r.size}; ${v}++) {`);
    if (r.strides[0] !== 0) ia += ` + ${v}${r.strides[0] === 1 ? "" : ` * ${r.strides[0]}`}`;
    if (r.strides[1] !== 0) ib += ` + ${v}${r.strides[1] === 1 ? "" : ` * ${r.strides[1]}`}`;
  });
  lines.push(`const ia = ${ia};`, `const ib = ${ib};`, body("i", "ia", "ib"), "i++;");
  for (let k = 0; k <= runs.length; k++) lines.push("}");
  return lines.join("\n");
}

function describe(c: EmitCtx): string {
  const show = (s: readonly number[]) => `[${s.join(", ")}]`;
  return `${show(c.inShapes[0]!)} and ${show(c.inShapes[1]!)} broadcast to ${show(c.outShapes[0]!)}`;
}

function arithmetic(kind: Arith): Kernel {
  const op = symbol[kind];
  return {
    forward: (c) => {
      if (sameShapes(c))
        return `// ${title[kind]}
for (let i = 0, e = n * ${c.outSizes[0]}; i < e; i++) ${c.y[0]}[i] = ${c.x[0]}[i]! ${op} ${c.x[1]}[i]!;`;
      return `// ${title[kind]}: ${describe(c)}
${loops(c, (i, ia, ib) => `${c.y[0]}[${i}] = ${c.x[0]}[${ia}]! ${op} ${c.x[1]}[${ib}]!;`)}`;
    },
    backward: (c) => {
      const [ga, gb] = [c.gx[0]!, c.gx[1]!];
      // d(a·b)/da = b, d(a·b)/db = a; d(a ± b)/da = 1, d(a ± b)/db = ±1.
      const update = (ia: string, ib: string) =>
        kind === "mul"
          ? `const g = ${c.gy[0]}[i]!;
const a = ${c.x[0]}[${ia}]!;
const b = ${c.x[1]}[${ib}]!;
${ga}[${ia}]! += g * b;
${gb}[${ib}]! += g * a;`
          : `const g = ${c.gy[0]}[i]!;
${ga}[${ia}]! += g;
${gb}[${ib}]! ${kind === "sub" ? "-=" : "+="} g;`;
      if (sameShapes(c))
        return `// ${title[kind]} backward
for (let i = 0, e = n * ${c.outSizes[0]}; i < e; i++) {
${update("i", "i")}
}`;
      return `// ${title[kind]} backward: ${describe(c)}, each operand's gradient summed over the axes it repeats
${loops(c, (_i, ia, ib) => update(ia, ib))}`;
    },
  };
}

export const add: Kernel = arithmetic("add");
export const sub: Kernel = arithmetic("sub");
export const mul: Kernel = arithmetic("mul");

/** The kernel of an op whose output is its input's memory, unchanged: nothing to emit. */
export const view: Kernel = { forward: () => "", backward: () => "" };

export const elementwiseKernels = {
  add,
  sub,
  mul,
  flatten: view,
  reshape: view,
  identity: view,
} satisfies KernelFamily;
