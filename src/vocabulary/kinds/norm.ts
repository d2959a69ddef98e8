// Normalization and regularization: `layernorm`, `rmsnorm`, `batchnorm`, `groupnorm`, `instancenorm`, `dropout`,
// `drop_path`.
import {
  bool,
  dBool,
  dDecimal,
  decimal,
  dEnum,
  dropPathRange,
  enumOf,
  epsRange,
  p,
  positive,
  probabilityRange,
} from "../params.js";
import { channelsFirst, elementwise, featuresLast, op, type KindFamily } from "../kind.js";
import { showShape, type LayerSemantics, type TensorSpec } from "../types.js";
import { ones, same } from "./common.js";

const layernorm: LayerSemantics = (ctx) => {
  if (ctx.input.shape.length === 0)
    return ctx.fail("WrongRank", ["noAxis", { kind: "layernorm" }], { showInput: true });
  const d = ctx.input.shape[ctx.input.shape.length - 1]!.size;
  const tensors: TensorSpec[] = [];
  if (ctx.bool("affine")) {
    tensors.push({ name: "weight", shape: [d], role: "normScale", init: ones });
    if (ctx.bool("bias")) tensors.push({ name: "bias", shape: [d], role: "normShift" });
  }
  return { output: ctx.input.shape, tensors, macs: 0n };
};

const rmsnorm: LayerSemantics = (ctx) => {
  const d = ctx.input.shape[ctx.input.shape.length - 1]?.size ?? 1n;
  const tensors: TensorSpec[] = ctx.bool("affine")
    ? [{ name: "weight", shape: [d], role: "normScale", init: ones }]
    : [];
  return { output: ctx.input.shape, tensors, macs: 0n };
};

const batchnorm: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  if (shape.length < 1 || shape.length > 4) {
    return ctx.fail(
      "WrongRank",
      ["expects", { kind: "batchnorm", what: "[C], [C, L], [C, H, W] or [C, D, H, W]", shape: showShape(shape) }],
      {
        showInput: true,
      },
    );
  }
  const c = shape[0]!.size;
  const tensors: TensorSpec[] = [];
  if (ctx.bool("affine")) {
    tensors.push(
      { name: "weight", shape: [c], role: "normScale", init: ones },
      { name: "bias", shape: [c], role: "normShift" },
    );
  }
  if (ctx.bool("track_running_stats")) {
    tensors.push(
      { name: "running_mean", shape: [c], role: "buffer" },
      { name: "running_var", shape: [c], role: "buffer", init: ones },
      { name: "num_batches_tracked", shape: [], role: "buffer", elementBytes: 8 },
    );
  }
  return { output: shape, tensors, macs: 0n };
};

const groupnorm: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  if (shape.length < 1)
    return ctx.fail("WrongRank", ["expectsOnly", { kind: "groupnorm", what: "[C, …]" }], { showInput: true });
  const c = shape[0]!.size;
  const g = ctx.int("groups");
  if (c % g !== 0n) {
    return ctx.fail("NotDivisible", ["groupnorm", { groups: g, channels: c }], {
      arg: "groups",
      showInput: true,
    });
  }
  const tensors: TensorSpec[] = ctx.bool("affine")
    ? [
        { name: "weight", shape: [c], role: "normScale", init: ones },
        { name: "bias", shape: [c], role: "normShift" },
      ]
    : [];
  return { output: shape, tensors, macs: 0n };
};

// PyTorch's nn.InstanceNorm1d / nn.InstanceNorm2d: each channel of each sample normalized over its own
// positions (GroupNorm with one group per channel); affine=False by default, and when affine, weight (ones)
// and bias (zeros) of C, as GroupNorm's. track_running_stats (False by default) is not offered.
const instancenorm: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  if (shape.length < 2 || shape.length > 3) {
    return ctx.fail(
      "WrongRank",
      ["expects", { kind: "instancenorm", what: "[C, L] or [C, H, W]", shape: showShape(shape) }],
      {
        showInput: true,
        help: "it normalizes each channel over its positions: give it a value with channels first and positions after",
      },
    );
  }
  const c = shape[0]!.size;
  const tensors: TensorSpec[] = ctx.bool("affine")
    ? [
        { name: "weight", shape: [c], role: "normScale", init: ones },
        { name: "bias", shape: [c], role: "normShift" },
      ]
    : [];
  return { output: shape, tensors, macs: 0n };
};

export const normKinds = {
  layernorm: op({
    category: "norm",
    ...featuresLast,
    description: "normalizes the last axis",
    options: [
      p("eps", decimal(epsRange), dDecimal(1e-5)),
      p("affine", bool, dBool(true)),
      p("bias", bool, dBool(true)),
    ],
    shape: layernorm,
    positions: "apart",
    doc: {},
  }),
  rmsnorm: op({
    category: "norm",
    ...featuresLast,
    description: "root-mean-square normalization of the last axis",
    options: [p("eps", decimal(epsRange), dDecimal(1e-6)), p("affine", bool, dBool(true))],
    shape: rmsnorm,
    positions: "apart",
    doc: {},
  }),
  batchnorm: op({
    category: "norm",
    ...channelsFirst,
    description: "batch normalization over channel axis 0 (1d, 2d or 3d by rank)",
    options: [
      p("eps", decimal(epsRange), dDecimal(1e-5)),
      // `nn.BatchNorm*d` momentum: running = (1 − m) · running + m · batch, a convex combination for m in [0, 1].
      p(
        "momentum",
        decimal({ min: 0, max: 1, why: "the weight of the batch statistics in the running average" }),
        dDecimal(0.1),
      ),
      p("affine", bool, dBool(true)),
      p("track_running_stats", bool, dBool(true)),
    ],
    shape: batchnorm,
    positions: "mixes",
    doc: {
      shapes: "`[C]`, `[C, L]`, `[C, H, W]` or `[C, D, H, W]`",
      note: "`nn.BatchNorm1d`, `nn.BatchNorm2d` or `nn.BatchNorm3d` by rank",
    },
  }),
  groupnorm: op({
    category: "norm",
    ...channelsFirst,
    description: "group normalization over channel axis 0",
    args: [p("groups", positive)],
    options: [p("eps", decimal(epsRange), dDecimal(1e-5)), p("affine", bool, dBool(true))],
    shape: groupnorm,
    positions: "mixes",
    doc: {},
  }),
  instancenorm: op({
    category: "norm",
    ...channelsFirst,
    description: "instance normalization: each channel (axis 0) over its own positions",
    options: [p("eps", decimal(epsRange), dDecimal(1e-5)), p("affine", bool, dBool(false))],
    shape: instancenorm,
    positions: "mixes",
    doc: {
      shapes: "`[C, L]` or `[C, H, W]`",
      note: "`nn.InstanceNorm1d`/`2d` (`groupnorm(C)`); no running statistics (PyTorch's default `track_running_stats = False`)",
    },
  }),
  dropout: op({
    category: "regularization",
    ...elementwise,
    description: "zeroes elements with probability p while training",
    args: [p("p", decimal(probabilityRange), dDecimal(0.5))],
    shape: same,
    positions: "apart",
    doc: {},
  }),
  drop_path: op({
    category: "regularization",
    ...elementwise,
    description: "stochastic depth: drops whole samples with probability p while training",
    args: [p("p", decimal(dropPathRange))],
    options: [p("mode", enumOf("row", "batch"), dEnum("row"))],
    shape: same,
    positions: "apart",
    doc: {
      note: "torchvision's `StochasticDepth(p, mode)`: in training each sample (`row`) or the whole batch (`batch`) is kept with probability 1 − p and scaled by 1/(1 − p); identity in evaluation",
    },
  }),
} satisfies KindFamily;
