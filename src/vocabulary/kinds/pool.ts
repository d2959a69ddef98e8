// Pooling: `max_pool1d`/`2d`/`3d`, `avg_pool1d`/`2d`/`3d`, `global_avg_pool`, `adaptive_avg_pool1d`/`2d`/`3d`.
import {
  bool,
  dBool,
  dInt,
  dSameAs,
  intOrPair,
  intOrTriple,
  p,
  positive,
  spatialArg,
  type ArgType,
  type ParamSpec,
} from "../params.js";
import { channelsFirst, op, type KindFamily } from "../kind.js";
import { dim, showShape, type LayerSemantics } from "../types.js";
import { ceilDiv, checkOut, floorDiv, perAxis, spatialInput, spatialOut } from "./common.js";

const maxPoolOptions = (rank: number): ParamSpec[] => {
  const spatial = (min: bigint): ArgType => spatialArg(rank, min);
  return [
    p("stride", spatial(1n), dSameAs("kernel")),
    p("padding", spatial(0n), dInt(0n)),
    p("dilation", spatial(1n), dInt(1n)),
    p("ceil_mode", bool, dBool(false)),
  ];
};

const avgPoolOptions = (rank: number): ParamSpec[] => {
  const spatial = (min: bigint): ArgType => spatialArg(rank, min);
  return [
    p("stride", spatial(1n), dSameAs("kernel")),
    p("padding", spatial(0n), dInt(0n)),
    p("ceil_mode", bool, dBool(false)),
    p("count_include_pad", bool, dBool(true)),
  ];
};

function pool(rank: number, kind: "max" | "avg"): LayerSemantics {
  return (ctx) => {
    const shape = spatialInput(ctx, rank);
    if (!shape) return undefined;
    const k = perAxis(ctx, "kernel", rank);
    const s = ctx.has("stride") ? perAxis(ctx, "stride", rank) : k;
    const p = perAxis(ctx, "padding", rank);
    const dl = kind === "max" ? perAxis(ctx, "dilation", rank) : k.map(() => 1n);
    const ceil = ctx.bool("ceil_mode");
    const sizes: bigint[] = [];
    for (let i = 0; i < rank; i++) {
      if (p[i]! * 2n > k[i]!) {
        return ctx.fail("WrongOptionType", ["poolPadding", { padding: p[i]!, kernel: k[i]! }], { arg: "padding" });
      }
      const L = shape[i + 1]!.size;
      const num = L + 2n * p[i]! - dl[i]! * (k[i]! - 1n) - 1n;
      let o = (ceil ? ceilDiv(num, s[i]!) : floorDiv(num, s[i]!)) + 1n;
      // PyTorch: with ceil_mode the last window must start inside the input or the left padding.
      if (ceil && (o - 1n) * s[i]! >= L + p[i]!) o -= 1n;
      // A dilated max window that starts in the left padding may skip every input position (kernel 2,
      // dilation 2, padding 1 on 1 position reads positions −1 and 1): its maximum is over nothing, −∞ (PyTorch
      // returns −inf there too), and NaN after the next multiply. Found by the fuzzer. Only windows that start
      // before position 0 can miss the input (the others start on it); there are at most ⌈padding / stride⌉.
      if (kind === "max" && dl[i]! > 1n) {
        const before = (p[i]! + s[i]! - 1n) / s[i]!;
        const last = before < o ? before : o;
        for (let w = 0n; w < last && w < 100_000n; w++) {
          const start = w * s[i]! - p[i]!;
          const first = (-start + dl[i]! - 1n) / dl[i]!; // the first j with start + j·dilation ≥ 0
          if (start < 0n && (first >= k[i]! || start + first * dl[i]! >= L)) {
            return ctx.fail(
              "WrongOptionType",
              [
                "window",
                {
                  window: w,
                  kind: ctx.kind,
                  axis: i + 1,
                  kernel: k[i]!,
                  dilation: dl[i]!,
                  padding: p[i]!,
                  length: L,
                  s: L === 1n ? "" : "s",
                },
              ],
              {
                arg: "dilation",
                showInput: true,
                help: "reduce the padding or the dilation, so that every window reads the input",
              },
            );
          }
        }
      }
      sizes.push(o);
    }
    if (!checkOut(ctx, sizes, shape)) return undefined;
    return { output: [shape[0]!, ...spatialOut(shape, sizes)], tensors: [], macs: 0n };
  };
}

const globalAvgPool: LayerSemantics = (ctx) => {
  if (ctx.input.shape.length < 2) {
    return ctx.fail(
      "WrongRank",
      [
        "expects",
        { kind: "global_avg_pool", what: "[C, …] with at least one spatial axis", shape: showShape(ctx.input.shape) },
      ],
      {
        showInput: true,
      },
    );
  }
  return { output: [ctx.input.shape[0]!], tensors: [], macs: 0n };
};

function adaptivePool(rank: number): LayerSemantics {
  return (ctx) => {
    const shape = spatialInput(ctx, rank);
    if (!shape) return undefined;
    const size = perAxis(ctx, "size", rank);
    return { output: [shape[0]!, ...size.map((x) => dim(x))], tensors: [], macs: 0n };
  };
}

export const poolKinds = {
  max_pool1d: op({
    category: "pool",
    ...channelsFirst,
    description: "max pooling over [C, L]",
    args: [p("kernel", positive)],
    options: maxPoolOptions(1),
    shape: pool(1, "max"),
    positions: "mixes",
    doc: {},
  }),
  max_pool2d: op({
    category: "pool",
    ...channelsFirst,
    description: "max pooling over [C, H, W]",
    args: [p("kernel", intOrPair(1n))],
    options: maxPoolOptions(2),
    shape: pool(2, "max"),
    positions: "mixes",
    doc: {},
  }),
  max_pool3d: op({
    category: "pool",
    ...channelsFirst,
    description: "max pooling over [C, D, H, W]",
    args: [p("kernel", intOrTriple(1n))],
    options: maxPoolOptions(3),
    shape: pool(3, "max"),
    positions: "mixes",
    doc: { note: "`nn.MaxPool3d`; `kernel`, `stride`, `padding`, `dilation` may be `[d, h, w]`" },
  }),
  avg_pool1d: op({
    category: "pool",
    ...channelsFirst,
    description: "average pooling over [C, L]",
    args: [p("kernel", positive)],
    options: avgPoolOptions(1),
    shape: pool(1, "avg"),
    positions: "mixes",
    doc: {},
  }),
  avg_pool2d: op({
    category: "pool",
    ...channelsFirst,
    description: "average pooling over [C, H, W]",
    args: [p("kernel", intOrPair(1n))],
    options: avgPoolOptions(2),
    shape: pool(2, "avg"),
    positions: "mixes",
    doc: {},
  }),
  avg_pool3d: op({
    category: "pool",
    ...channelsFirst,
    description: "average pooling over [C, D, H, W]",
    args: [p("kernel", intOrTriple(1n))],
    options: avgPoolOptions(3),
    shape: pool(3, "avg"),
    positions: "mixes",
    doc: { note: "`nn.AvgPool3d` (no `divisor_override`); `kernel`, `stride`, `padding` may be `[d, h, w]`" },
  }),
  global_avg_pool: op({
    category: "pool",
    ...channelsFirst,
    description: "averages every axis after the first: [C, …] → [C]",
    shape: globalAvgPool,
    positions: "mixes",
    doc: {},
  }),
  adaptive_avg_pool1d: op({
    category: "pool",
    ...channelsFirst,
    description: "average pooling to a fixed output length",
    args: [p("size", positive)],
    shape: adaptivePool(1),
    positions: "mixes",
    doc: { shapes: "`[C, L] → [C, size]`" },
  }),
  adaptive_avg_pool2d: op({
    category: "pool",
    ...channelsFirst,
    description: "average pooling to a fixed output size",
    args: [p("size", intOrPair(1n))],
    shape: adaptivePool(2),
    positions: "mixes",
    doc: { shapes: "`[C, H, W] → [C, h, w]`", note: "`size` may be `[h, w]`" },
  }),
  adaptive_avg_pool3d: op({
    category: "pool",
    ...channelsFirst,
    description: "average pooling of a volume to a fixed output size",
    args: [p("size", intOrTriple(1n))],
    shape: adaptivePool(3),
    positions: "mixes",
    doc: { shapes: "`[C, D, H, W] → [C, d, h, w]`", note: "`nn.AdaptiveAvgPool3d`; `size` may be `[d, h, w]`" },
  }),
} satisfies KindFamily;
