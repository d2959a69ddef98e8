// What the shape rules of several families share: reading spatial inputs and sequences, per-axis options,
// output sizes, axes. Everything numeric is an exact bigint.
import {
  dim,
  normalizeAxis,
  showShape,
  type Dim,
  type Init,
  type LayerCtx,
  type LayerOutcome,
  type Shape,
} from "../types.js";

export const ones: Init = { kind: "const", value: 1 };

export const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));
export const ceilDiv = (a: bigint, b: bigint): bigint => -floorDiv(-a, b);

export function same(ctx: LayerCtx): LayerOutcome | undefined {
  return { output: ctx.input.shape, tensors: [], macs: 0n };
}

/** `[…seq, D]`: every axis but the last must index a sequence. */
export function requireFeatureAxis(ctx: LayerCtx, what: string): Dim | undefined {
  const shape = ctx.input.shape;
  if (shape.length === 0) {
    ctx.fail("WrongRank", ["scalar", { kind: ctx.kind, what }], { showInput: true });
    return undefined;
  }
  const leading = shape.slice(0, -1);
  if (leading.some((d) => !d.seq)) {
    ctx.fail("WrongRank", ["expects", { kind: ctx.kind, what, shape: showShape(shape) }], {
      showInput: true,
      help:
        shape.length === 2
          ? sequenceHelp(shape)
          : shape.length > 2
            ? "add `flatten` before it to merge the axes into one"
            : undefined,
    });
    return undefined;
  }
  return shape[shape.length - 1]!;
}

/** For [C, T] whose last axis is a sequence (a convolution over time): the transpose that makes it [T, C]. */
export function positionsLastHelp(shape: Shape): string {
  return `the sequence is the last axis: put it first with \`transpose(0, 1)\` (${showShape([shape[1]!, shape[0]!])})`;
}

/** For a fixed [N, D]: it may be an image row set or a sequence; say how to write either. */
export function sequenceHelp(shape: Shape): string {
  if (shape[1]!.positions) return positionsLastHelp(shape);
  return `add \`flatten\` to merge the axes; or, if the first axis is a sequence, declare it as one: \`f32[seq <= ${shape[0]!.size}, ${shape[1]!.size}]\``;
}

export function withLast(shape: Shape, size: bigint): Shape {
  return [...shape.slice(0, -1), dim(size)];
}

// ── convolution and pooling ──────────────────────────────────────────────────────────────────────────

export function spatialInput(ctx: LayerCtx, rank: number): Shape | undefined {
  const shape = ctx.input.shape;
  if (shape.length !== rank + 1) {
    const wanted = rank === 1 ? "[C, L]" : rank === 2 ? "[C, H, W]" : "[C, D, H, W]";
    ctx.fail("WrongRank", ["expects", { kind: ctx.kind, what: wanted, shape: showShape(shape) }], {
      showInput: true,
      help: shape.length === 1 && rank === 2 ? "add `reshape([C, H, W])` before it" : undefined,
    });
    return undefined;
  }
  return shape;
}

/** Per-axis values of an option that may be one integer or one per spatial axis. */
export function perAxis(ctx: LayerCtx, name: string, rank: number): bigint[] {
  if (rank === 1) return [ctx.int(name)];
  if (rank === 2) return [...ctx.pair(name)];
  const v = ctx.ints(name);
  return v.length === 1 ? Array.from({ length: rank }, () => v[0]!) : [...v];
}

/** The spatial axes of a convolution's or pool's output: a sequence's positions stay positions (a
 *  convolution over time gives a sequence of another length). */
export function spatialOut(input: Shape, sizes: readonly bigint[]): Dim[] {
  return sizes.map((x, i) => (input[i + 1]?.positions ? { size: x, positions: true } : dim(x)));
}

export function checkOut(ctx: LayerCtx, sizes: bigint[], inputs: Shape): boolean {
  const bad = sizes.findIndex((s) => s < 1n);
  if (bad === -1) return true;
  ctx.fail(
    "SizeBelowOne",
    { kind: ctx.kind, size: sizes[bad]!, axis: bad + 1, shape: showShape(inputs) },
    {
      showInput: true,
      help: "use a smaller kernel or stride, or add padding",
    },
  );
  return false;
}

export function axisOf(ctx: LayerCtx, name: string, rank: number): number | undefined {
  const a = normalizeAxis(ctx.int(name), rank);
  if (a === undefined) {
    ctx.fail("AxisOutOfRange", ["axis", { axis: ctx.int(name), shape: showShape(ctx.input.shape) }], {
      arg: name,
      showInput: true,
      help: "axes do not count the batch; -1 is the last axis",
    });
  }
  return a;
}

/** `d`, marked as positions when `from` is (a sequence cut or joined along its positions). */
export function withPositions(d: Dim, from: Dim): Dim {
  return from.positions ? { ...d, positions: true } : d;
}

export function sequenceInput(ctx: LayerCtx): { t: Dim; d: Dim } | undefined {
  const shape = ctx.input.shape;
  if (shape.length !== 2 || !shape[0]!.seq) {
    ctx.fail("WrongRank", ["expects", { kind: ctx.kind, what: "a sequence [T, D]", shape: showShape(shape) }], {
      showInput: true,
      help:
        shape.length === 3
          ? "turn [C, H, W] into a sequence with `flatten(start = 1)` and `transpose(0, 1)`"
          : shape.length === 2
            ? shape[1]!.positions
              ? positionsLastHelp(shape)
              : `declare the first axis as a sequence: \`f32[seq <= ${shape[0]!.size}, ${shape[1]!.size}]\``
            : undefined,
    });
    return undefined;
  }
  return { t: shape[0]!, d: shape[1]! };
}
