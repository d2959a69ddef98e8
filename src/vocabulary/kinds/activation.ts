// Activations and `identity`: elementwise, no parameters except `prelu`'s slopes.
import { axis, dDecimal, decimal, dEnum, dInt, enumOf, finiteRange, p, positive, type ParamSpec } from "../params.js";
import { alias, channelsFirst, elementwise, op, type KindFamily, type OpKindDef } from "../kind.js";
import type { LayerSemantics } from "../types.js";
import { axisOf, same } from "./common.js";

const prelu: LayerSemantics = (ctx) => {
  const n = ctx.int("num_parameters");
  const channels = ctx.input.shape[0]?.size ?? 1n;
  if (n !== 1n && n !== channels) {
    return ctx.fail("ShapeMismatch", ["prelu", { slopes: n, channels }], {
      arg: "num_parameters",
      showInput: true,
      help: "use 1 (one shared slope) or the channel count",
    });
  }
  return {
    output: ctx.input.shape,
    tensors: [{ name: "weight", shape: [n], role: "other", init: { kind: "const", value: 0.25 } }],
    macs: 0n,
  };
};

const softmaxLike: LayerSemantics = (ctx) => {
  const axis = axisOf(ctx, "axis", ctx.input.shape.length);
  if (axis === undefined) return undefined;
  // ResolvedAttrs: `axis`, from 0 (a negative axis resolved).
  return { output: ctx.input.shape, tensors: [], macs: 0n, attrs: { axis: BigInt(axis) } };
};

/** Semantics by kind. Aliases (`swish`) resolve through the vocabulary's `aliasOf`. */
/** An elementwise activation: same shape, no parameters, each position on its own. */
function activation(description: string, args: readonly ParamSpec[] = []): OpKindDef {
  return op({ category: "activation", ...elementwise, description, args, shape: same, positions: "apart", doc: {} });
}

/** Along `axis`: apart when it is the last axis (each position's vector on its own). */
function softmaxKind(description: string): OpKindDef {
  return op({
    category: "activation",
    ...elementwise,
    description,
    args: [p("axis", axis, dInt(-1n))],
    shape: softmaxLike,
    positions: (a, rank) => [-1, rank - 1].includes(a.int("axis", -1)),
    doc: {},
  });
}

export const activationKinds = {
  relu: activation("max(0, x)"),
  relu6: activation("min(max(0, x), 6)"),
  leaky_relu: activation("x, or negative_slope · x below 0", [
    p("negative_slope", decimal(finiteRange), dDecimal(0.01)),
  ]),
  prelu: op({
    category: "activation",
    ...channelsFirst,
    channelsUnless: { param: "num_parameters", value: 1n },
    description: "leaky relu with a learned slope",
    args: [p("num_parameters", positive, dInt(1n))],
    shape: prelu,
    positions: (a) => a.int("num_parameters", 1) === 1,
    doc: { note: "one slope, or one per channel (axis 0)" },
  }),
  elu: activation("exponential linear unit", [p("alpha", decimal(finiteRange), dDecimal(1.0))]),
  selu: activation("scaled exponential linear unit"),
  gelu: activation("gaussian error linear unit", [p("approximate", enumOf("none", "tanh"), dEnum("none"))]),
  silu: activation("x · sigmoid(x)"),
  swish: alias("silu"),
  mish: activation("x · tanh(softplus(x))"),
  sigmoid: activation("1 / (1 + exp(-x))"),
  // PyTorch's nn.Hardsigmoid: relu6(x + 3) / 6 (0 at or below −3, 1 at or above 3, x / 6 + 1/2 between).
  hard_sigmoid: activation("relu6(x + 3) / 6, a piecewise linear sigmoid"),
  hardsigmoid: alias("hard_sigmoid"),
  // PyTorch's nn.Hardswish (MobileNetV3): x · relu6(x + 3) / 6.
  hardswish: activation("x · relu6(x + 3) / 6"),
  tanh: activation("hyperbolic tangent"),
  softplus: activation("log(1 + exp(beta · x)) / beta", [
    // `nn.Softplus` divides by beta: beta = 0 is 0/0; nnc also rejects beta < 0, which turns the smooth
    // ReLU PyTorch documents into a smooth minimum.
    p("beta", decimal({ min: 0, exclusiveMin: true, why: "softplus divides by beta" }), dDecimal(1)),
    p("threshold", decimal(finiteRange), dDecimal(20)),
  ]),
  softsign: activation("x / (1 + |x|)"),
  // torch.abs (no nn module): the absolute value, for distances such as a Siamese network's |a − b|.
  abs: activation("|x|, the absolute value"),
  softmax: softmaxKind("softmax along an axis"),
  log_softmax: softmaxKind("log of softmax along an axis"),
  identity: activation("returns its input"),
} satisfies KindFamily;
