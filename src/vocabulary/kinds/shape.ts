// Shape and combining layers: `flatten`, `reshape`, `transpose`, `take`, `mean`, `concat`, `split`. All but
// `mean` only move elements, so token ids stay ids through them.
import { grouped } from "../../diagnostics/numbers.js";
import { axis, bool, dEnum, dInt, dNone, enumOf, listOf, oneOf, p, positive } from "../params.js";
import { channelsFirst, movesElements, op, type KindFamily } from "../kind.js";
import {
  dim,
  product,
  sameDim,
  showShape,
  type Dim,
  type LayerSemantics,
  type TensorValue,
  type Value,
} from "../types.js";
import { axisOf, spatialOut, withPositions } from "./common.js";

const flatten: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  if (shape.length === 0) return { output: shape, tensors: [], macs: 0n };
  const start = axisOf(ctx, "start", shape.length);
  if (start === undefined) return undefined;
  const end = axisOf(ctx, "end", shape.length);
  if (end === undefined) return undefined;
  if (end < start) return ctx.fail("AxisOutOfRange", ["flatten", { end, start }], { arg: "end" });
  const merged = shape.slice(start, end + 1).reduce((a, d) => a * d.size, 1n);
  const leading = shape.slice(0, start);
  return { output: [...leading, dim(merged)], tensors: [], macs: 0n };
};

const reshape: LayerSemantics = (ctx) => {
  const sizes = [...ctx.ints("shape")];
  const total = product(ctx.input.shape);
  const unknown = sizes.filter((s) => s === -1n).length;
  if (unknown > 1) return ctx.fail("WrongOptionType", ["reshapeUnknown", {}], { arg: "shape" });
  if (sizes.some((s) => s < -1n || s === 0n)) {
    return ctx.fail("NonPositiveSize", ["reshape", {}], { arg: "shape" });
  }
  const known = sizes.filter((s) => s !== -1n).reduce((a, b) => a * b, 1n);
  if (unknown === 1) {
    if (total % known !== 0n) {
      return ctx.fail(
        "NotDivisible",
        ["reshape", { shape: showShape(ctx.input.shape), total, sizes: formatList(sizes) }],
        {
          arg: "shape",
          showInput: true,
        },
      );
    }
    sizes[sizes.indexOf(-1n)] = total / known;
  } else if (known !== total) {
    return ctx.fail(
      "ShapeMismatch",
      ["reshape", { shape: showShape(ctx.input.shape), total, sizes: formatList(sizes), known }],
      {
        arg: "shape",
        showInput: true,
      },
    );
  }
  // The leading axes of an explicit reshape index a sequence (`reshape([196, 768])`).
  return { output: sizes.map((s, i) => dim(s, i < sizes.length - 1)), tensors: [], macs: 0n };
};

function formatList(xs: readonly bigint[]): string {
  return `[${xs.join(", ")}]`;
}

const transpose: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const a = axisOf(ctx, "a", shape.length);
  const b = a === undefined ? undefined : axisOf(ctx, "b", shape.length);
  if (a === undefined || b === undefined) return undefined;
  const out = [...shape];
  out[a] = shape[b]!;
  out[b] = shape[a]!;
  // Moving axes in front of the features makes them a sequence: [C, N] → [N, C] (patches, time steps).
  const last = out.length - 1;
  return {
    output: out.map((d, i) => (i < last ? { ...d, seq: true } : withoutSeq(d))),
    tensors: [],
    macs: 0n,
    // ResolvedAttrs: `a` and `b`, the axes swapped, from 0 (negative axes resolved).
    attrs: { a: BigInt(a), b: BigInt(b) },
  };
};

function withoutSeq(d: Dim): Dim {
  return {
    size: d.size,
    ...(d.symbol === undefined ? {} : { symbol: d.symbol }),
    ...(d.positions ? { positions: true } : {}),
  };
}

const take: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const axis = axisOf(ctx, "axis", shape.length);
  if (axis === undefined) return undefined;
  const index = ctx.int("index");
  const size = shape[axis]!.size;
  if (index >= size || index < -size) {
    return ctx.fail("AxisOutOfRange", ["index", { index, size }], {
      arg: "index",
      showInput: true,
    });
  }
  return {
    output: shape.filter((_, i) => i !== axis),
    tensors: [],
    macs: 0n,
    // ResolvedAttrs: `axis` and `index`, from 0 (negative ones resolved).
    attrs: { axis: BigInt(axis), index: index < 0n ? index + size : index },
  };
};

const mean: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const axis = axisOf(ctx, "axis", shape.length);
  if (axis === undefined) return undefined;
  // ResolvedAttrs: `axis`, from 0 (a negative axis resolved).
  return { output: shape.filter((_, i) => i !== axis), tensors: [], macs: 0n, attrs: { axis: BigInt(axis) } };
};

const concat: LayerSemantics = (ctx) => {
  const inputs = ctx.inputs;
  const first = inputs[0]!;
  if (inputs.length < 2)
    return ctx.fail(
      "TooFewValues",
      {},
      {
        showInput: true,
      },
    );
  const axis = axisOf(ctx, "axis", first.shape.length);
  if (axis === undefined) return undefined;
  let total = 0n;
  for (const v of inputs) {
    const ok =
      v.shape.length === first.shape.length && v.shape.every((d, i) => i === axis || sameDim(d, first.shape[i]!));
    if (!ok) {
      return ctx.fail("ShapeMismatch", ["concat", { a: showShape(first.shape), b: showShape(v.shape), axis }], {
        labels: [
          { span: first.origin, message: `this is ${showShape(first.shape)}` },
          { span: v.origin, message: `this is ${showShape(v.shape)}` },
        ],
        help: "every axis but the concatenated one must match",
      });
    }
    total += v.shape[axis]!.size;
  }
  const out = [...first.shape];
  out[axis] = withPositions(dim(total, first.shape[axis]!.seq ?? false), first.shape[axis]!);
  // ResolvedAttrs: `axis`, from 0 (a negative axis resolved).
  return { output: out, tensors: [], macs: 0n, attrs: { axis: BigInt(axis) } };
};

/** Most parts of one `split`: each part is a value of its own, so a split of n parts costs n in the
 *  analysis (and an array in generated code); without a bound `split(20_000_000)` exhausts memory while
 *  checking. Real splits are in 2 or 3 (GLU halves, q/k/v); 4,096 leaves room for one per channel. */
export const maxSplitParts = 4_096n;

const split: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const axis = axisOf(ctx, "axis", shape.length);
  if (axis === undefined) return undefined;
  const size = shape[axis]!.size;
  let parts: bigint[];
  const count = ctx.isList("parts") ? BigInt(ctx.ints("parts").length) : ctx.int("parts");
  if (count > maxSplitParts) {
    return ctx.fail(
      "TooManyParts",
      { count: grouped(count), max: grouped(maxSplitParts) },
      {
        arg: "parts",
        help: "split into fewer, larger parts (a `reshape` can give each part an axis of its own)",
      },
    );
  }
  if (!ctx.isList("parts")) {
    const n = ctx.int("parts");
    if (size % n !== 0n) {
      return ctx.fail("NotDivisible", ["split", { size, parts: n }], {
        arg: "parts",
        showInput: true,
      });
    }
    parts = Array.from({ length: Number(n) }, () => size / n);
  } else {
    parts = [...ctx.ints("parts")];
    const sum = parts.reduce((a, b) => a + b, 0n);
    if (sum !== size) {
      return ctx.fail("ShapeMismatch", ["splitSizes", { sum, size }], {
        arg: "parts",
        showInput: true,
      });
    }
  }
  const items: TensorValue[] = parts.map((p) => {
    const out = [...shape];
    out[axis] = withPositions(dim(p, shape[axis]!.seq ?? false), shape[axis]!);
    return { kind: "tensor", shape: out, dtype: ctx.input.dtype, origin: ctx.input.origin };
  });
  const value: Value = { kind: "tuple", items, origin: ctx.input.origin };
  // ResolvedAttrs: `axis`, from 0 (a negative axis resolved).
  return { output: value, tensors: [], macs: 0n, attrs: { axis: BigInt(axis) } };
};

// PyTorch's nn.PixelShuffle(upscale_factor): [C·r², H, W] → [C, H·r, W·r], out[c, h·r + i, w·r + j] =
// in[c·r² + i·r + j, h, w] (docs: "Rearranges elements in a tensor of shape (*, C × r², H, W) to a tensor of
// shape (*, C, H × r, W × r)"; Shi et al. 2016, ESPCN). No parameters.
const pixelShuffle: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  if (shape.length !== 3) {
    return ctx.fail("WrongRank", ["expects", { kind: "pixel_shuffle", what: "[C, H, W]", shape: showShape(shape) }], {
      showInput: true,
    });
  }
  const r = ctx.int("upscale_factor");
  const [c, h, w] = [shape[0]!.size, shape[1]!.size, shape[2]!.size];
  if (c % (r * r) !== 0n) {
    return ctx.fail("NotDivisible", ["pixelShuffle", { square: r * r, channels: c }], {
      arg: "upscale_factor",
      showInput: true,
      help: `the channels become ${r}×${r} blocks of pixels: give it a multiple of ${r * r} channels`,
    });
  }
  return { output: [dim(c / (r * r)), dim(h * r), dim(w * r)], tensors: [], macs: 0n };
};

// PyTorch's nn.Upsample(size, scale_factor, mode, align_corners) (F.interpolate): [C, …] with 1 to 3 spatial
// axes. Output size per axis: `size`, or ⌊in · scale_factor⌋ = in · scale_factor (integer factors only here).
// `nearest` on any rank; `bilinear` on [C, H, W] only (PyTorch: 4-D input); `align_corners` only with
// bilinear (PyTorch raises "align_corners option can only be set with the interpolating modes").
const upsample: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const mode = ctx.name("mode") ?? "nearest";
  if (mode === "bilinear" ? shape.length !== 3 : shape.length < 2 || shape.length > 4) {
    const what = mode === "bilinear" ? "[C, H, W] for `mode = bilinear`" : "[C, L], [C, H, W] or [C, D, H, W]";
    return ctx.fail("WrongRank", ["expects", { kind: "upsample", what, shape: showShape(shape) }], {
      showInput: true,
      help: shape.length === 1 ? "add `reshape([C, H, W])` before it" : undefined,
    });
  }
  const hasSize = ctx.has("size");
  const hasScale = ctx.has("scale_factor");
  if (hasSize === hasScale) {
    return ctx.fail("UpsampleTarget", [hasSize ? "both" : "neither", {}], {
      arg: hasSize ? "scale_factor" : undefined,
      help: hasSize ? undefined : "give the output size, `size = [h, w]`, or an integer factor, `scale_factor = 2`",
    });
  }
  if (ctx.has("align_corners") && mode !== "bilinear") {
    return ctx.fail("AlignCornersMode", { mode }, { arg: "align_corners", help: "remove `align_corners`" });
  }
  const rank = shape.length - 1;
  const name = hasSize ? "size" : "scale_factor";
  const given = ctx.ints(name);
  if (ctx.isList(name) && given.length !== rank) {
    return ctx.fail(
      "SpatialListLength",
      { name, count: given.length, rank, es: rank === 1 ? "is" : "es", shape: showShape(shape) },
      { arg: name, showInput: true, help: `give one integer, or ${rank} (one per spatial axis)` },
    );
  }
  const per = (i: number) => (ctx.isList(name) ? given[i]! : given[0]!);
  const sizes = shape.slice(1).map((d, i) => (hasSize ? per(i) : d.size * per(i)));
  return { output: [shape[0]!, ...spatialOut(shape, sizes)], tensors: [], macs: 0n };
};

export const shapeKinds = {
  flatten: op({
    category: "shape",
    ...movesElements,
    description: "merges the axes start..end (batch not counted)",
    options: [p("start", axis, dInt(0n)), p("end", axis, dInt(-1n))],
    shape: flatten,
    positions: "mixes",
    doc: { shapes: "`[C, H, W] → [C·H·W]`" },
  }),
  reshape: op({
    category: "shape",
    ...movesElements,
    description: "reshapes to the given sizes; one may be -1",
    args: [p("shape", listOf({ kind: "size", min: -1n }))],
    shape: reshape,
    positions: "mixes",
    doc: {},
  }),
  transpose: op({
    category: "shape",
    ...movesElements,
    description: "swaps two axes",
    args: [p("a", axis), p("b", axis)],
    shape: transpose,
    positions: "mixes",
    doc: {},
  }),
  take: op({
    category: "shape",
    ...movesElements,
    description: "picks one position along an axis, dropping it",
    args: [p("index", axis)],
    options: [p("axis", axis, dInt(0n))],
    shape: take,
    // The first position (BERT's pooler, a class token) is there in every call.
    positions: (a) => a.int("index", 0) === 0 && a.int("axis", 0) === 0,
    doc: { note: "ViT's class token: `take(0)`" },
  }),
  mean: op({
    category: "shape",
    channels: "none",
    tokenIds: "computes",
    description: "averages over an axis, dropping it",
    options: [p("axis", axis, dInt(0n))],
    shape: mean,
    positions: "mixes",
    doc: {},
  }),
  pixel_shuffle: op({
    category: "shape",
    // Reads its channels from axis 0, and its output's channels mix positions: no token ids through it.
    ...channelsFirst,
    description: "moves channels into space: [C·r², H, W] → [C, H·r, W·r]",
    args: [p("upscale_factor", positive)],
    shape: pixelShuffle,
    positions: "mixes",
    doc: { note: "`nn.PixelShuffle(r)` (sub-pixel convolution's upsampling)" },
  }),
  upsample: op({
    category: "shape",
    ...channelsFirst,
    description: "upsamples the spatial axes of [C, …] by an integer factor or to a size",
    options: [
      p("size", oneOf(positive, listOf(positive)), dNone, "the output size, one or one per spatial axis"),
      p("scale_factor", oneOf(positive, listOf(positive)), dNone, "an integer factor, one or one per spatial axis"),
      p("mode", enumOf("nearest", "bilinear"), dEnum("nearest")),
      p("align_corners", bool, dNone, "bilinear only: sample the corner pixels' centres exactly"),
    ],
    shape: upsample,
    positions: "mixes",
    doc: {
      shapes: "`[C, L]`, `[C, H, W]` or `[C, D, H, W]` → the same with each spatial axis resized",
      note: "`nn.Upsample`: exactly one of `size` and `scale_factor` (integers); `bilinear` on `[C, H, W]`, `align_corners` (default false) only with it",
    },
  }),
  concat: op({
    category: "combine",
    ...movesElements,
    description: "concatenates a list of values along an axis",
    options: [p("axis", axis, dInt(0n))],
    inputs: "list",
    shape: concat,
    positions: "mixes",
    doc: { note: "applied to `[a, b, …]`" },
  }),
  split: op({
    category: "combine",
    ...movesElements,
    description: "splits into equal parts or parts of the given sizes",
    args: [p("parts", oneOf(positive, listOf(positive)))],
    options: [p("axis", axis, dInt(-1n))],
    shape: split,
    positions: "mixes",
    doc: { note: "`parts` an integer or a list of sizes, at most 4,096 parts; gives a list of values" },
  }),
} satisfies KindFamily;
