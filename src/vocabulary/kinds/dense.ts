// `dense`: a fully connected layer on the last axis (PyTorch's `nn.Linear`).
import { bool, dBool, dEnum, enumOf, p, positive } from "../params.js";
import { featuresLast, op, type KindFamily } from "../kind.js";
import {
  fanInUniform,
  matrixShape,
  product,
  type LayerSemantics,
  type MatrixLayout,
  type TensorSpec,
} from "../types.js";
import { requireFeatureAxis, withLast } from "./common.js";

const dense: LayerSemantics = (ctx) => {
  const d = requireFeatureAxis(ctx, "one feature axis (or a sequence of feature vectors)");
  if (!d) return undefined;
  const out = ctx.int("out");
  // nn.Linear's initialization in either layout (the distribution is elementwise, so the same; HF Conv1D's
  // own normal(0, 0.02) with zero bias is not mirrored: the layout is how the matrix is stored, not which
  // module it came from).
  const init = fanInUniform(d.size);
  const layout = (ctx.name("layout") ?? "out_in") as MatrixLayout;
  const tensors: TensorSpec[] = [
    {
      name: "weight",
      shape: matrixShape(layout, out, d.size),
      role: "matrix",
      init,
      ...(layout === "in_out" ? { layout } : {}),
    },
  ];
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
    options: [
      p("bias", bool, dBool(true)),
      p(
        "layout",
        enumOf("out_in", "in_out"),
        dEnum("out_in"),
        "`weight` as `nn.Linear` stores it, `[out, D]`, or as HF `Conv1D`, `[D, out]`",
      ),
    ],
    shape: dense,
    positions: "apart",
    doc: {
      shapes: "`[…, D] → […, out]`",
      note: "`nn.Linear(D, out)`; `weight` is `[out, D]`, or `[D, out]` with `layout = in_out` (Hugging Face's `Conv1D`, y = x·W + b: GPT-2's `c_attn`, `c_fc`, `c_proj`), initialized as `nn.Linear` either way",
    },
  }),
} satisfies KindFamily;
