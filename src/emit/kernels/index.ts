// THE table of kernels: one entry per op kind the code generator can emit. A kind missing here gets
// NN9001 at build time, never wrong code.
import type { Kernel } from "../kernel.js";
import { activationKernels } from "./activation.js";
import { attentionKernels } from "./attention.js";
import { convKernels } from "./conv.js";
import { poolKernels } from "./pool.js";
import { dense } from "./dense.js";
import { elementwiseKernels } from "./elementwise.js";
import { moeKernels } from "./moe.js";
import { embeddingKernels } from "./embedding.js";
import { normKernels } from "./norm.js";
import { recurrentKernels } from "./recurrent.js";
import { shapeKernels } from "./shape.js";

export const kernels: Readonly<Record<string, Kernel>> = {
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
