// Value arithmetic: `a + b` (residual add) and `a * b` (gating), and the shape ops whose output is the
// input's memory (flatten, reshape, identity: the `view` kernel, nothing to emit; plan.ts gives their output
// the input's buffer, `viewKinds` in kernels/index.ts).
import type { Kernel, KernelFamily } from "../kernel.js";

export const add: Kernel = {
  forward: (c) => `// add
for (let i = 0, e = n * ${c.outSizes[0]}; i < e; i++) ${c.y[0]}[i] = ${c.x[0]}[i]! + ${c.x[1]}[i]!;`,
  backward: (c) => `// add backward
for (let i = 0, e = n * ${c.outSizes[0]}; i < e; i++) {
  const g = ${c.gy[0]}[i]!;
  ${c.gx[0]}[i]! += g;
  ${c.gx[1]}[i]! += g;
}`,
};

export const mul: Kernel = {
  forward: (c) => `// multiply
for (let i = 0, e = n * ${c.outSizes[0]}; i < e; i++) ${c.y[0]}[i] = ${c.x[0]}[i]! * ${c.x[1]}[i]!;`,
  backward: (c) => `// multiply backward
for (let i = 0, e = n * ${c.outSizes[0]}; i < e; i++) {
  const g = ${c.gy[0]}[i]!;
  const a = ${c.x[0]}[i]!;
  const b = ${c.x[1]}[i]!;
  ${c.gx[0]}[i]! += g * b;
  ${c.gx[1]}[i]! += g * a;
}`,
};

/** The kernel of an op whose output is its input's memory, unchanged: nothing to emit. */
export const view: Kernel = { forward: () => "", backward: () => "" };

export const elementwiseKernels = {
  add,
  mul,
  flatten: view,
  reshape: view,
  identity: view,
} satisfies KernelFamily;
