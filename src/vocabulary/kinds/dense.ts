// `dense`: a fully connected layer on the last axis (PyTorch's `nn.Linear`).
import { bool, dBool, p, positive } from "../params.js";
import { featuresLast, op, type KindFamily } from "../kind.js";
import { fanInUniform, product, type LayerSemantics, type TensorSpec } from "../types.js";
import { requireFeatureAxis, withLast } from "./common.js";

const dense: LayerSemantics = (ctx) => {
  const d = requireFeatureAxis(ctx, "one feature axis (or a sequence of feature vectors)");
  if (!d) return undefined;
  const out = ctx.int("out");
  const init = fanInUniform(d.size);
  const tensors: TensorSpec[] = [{ name: "weight", shape: [out, d.size], role: "matrix", init }];
  if (ctx.bool("bias")) tensors.push({ name: "bias", shape: [out], role: "bias", init });
  return {
    output: withLast(ctx.input.shape, out),
    tensors,
    macs: product(ctx.input.shape.slice(0, -1)) * d.size * out,
  };
};

export const denseKinds = {
  dense: op({
    category: "dense",
    ...featuresLast,
    description: "a fully connected layer on the last axis",
    args: [p("out", positive)],
    options: [p("bias", bool, dBool(true))],
    shape: dense,
    positions: "apart",
    doc: { shapes: "`[…, D] → […, out]`", note: "`nn.Linear(D, out)`; `weight` is `[out, D]`" },
  }),
} satisfies KindFamily;
