// THE table of kernels: one entry per op kind of the IR — every layer kind that is an op of its own
// (`OpKind`, from the registry of kinds, src/vocabulary/registry.ts) and the analysis's internal ops
// (`add`, `sub`, `mul`, `moe_combine`). Its type lists every `EmittedKind`, so a kind without a kernel does not
// compile; compile.ts still refuses an op with no kernel (NN9001) rather than emit wrong code.
import type { Kernel } from "../kernel.js";
import type { EmittedKind } from "../../vocabulary/registry.js";
import { activationKernels } from "./activation.js";
import { attentionKernels } from "./attention.js";
import { convKernels } from "./conv.js";
import { poolKernels } from "./pool.js";
import { dense } from "./dense.js";
import { elementwiseKernels, view } from "./elementwise.js";
import { moeKernels } from "./moe.js";
import { embeddingKernels } from "./embedding.js";
import { normKernels } from "./norm.js";
import { recurrentKernels } from "./recurrent.js";
import { shapeKernels } from "./shape.js";

export const kernelTable: { readonly [K in EmittedKind]: Kernel } = {
  dense,
  ...activationKernels,
  ...attentionKernels,
  ...convKernels,
  ...poolKernels,
  ...elementwiseKernels,
  ...moeKernels,
  ...embeddingKernels,
  ...normKernels,
  ...recurrentKernels,
  ...shapeKernels,
};

/** The table by op kind name, as the assembler looks an op up. */
export const kernels: Readonly<Record<string, Kernel>> = kernelTable;

/** Ops whose output is the input's memory, unchanged (`flatten`, `reshape`, `identity`): their kernel is
 *  `view`, and the memory plan gives their output the input's buffer. */
export const viewKinds: ReadonlySet<string> = new Set(
  Object.entries(kernelTable)
    .filter(([, k]) => k === view)
    .map(([kind]) => kind),
);
