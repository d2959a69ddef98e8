// The meaning of each layer kind, one entry per kind: output shape, parameter tensors with their roles and
// PyTorch names and layouts, and multiply–accumulates of one forward pass of one sample. Containers
// (`residual`, `moe`) are handled by the analysis engine, which owns their bodies.
//
// MAC convention: matrix products and convolutions only (one multiply–accumulate per weight use);
// normalizations, activations, pooling and softmax count 0. Attention counts its projections and both
// T×T products at the maximum sequence length (causal masking not discounted).
import { grouped } from "../diagnostics/numbers.js";
import { layers, type LayerTraits } from "./layers.js";
import {
  dim,
  fanInUniform,
  normalizeAxis,
  product,
  sameDim,
  showShape,
  type Dim,
  type Init,
  type LayerCtx,
  type LayerOutcome,
  type LayerSemantics,
  type Shape,
  type TensorSpec,
  type TensorValue,
  type Value,
} from "./types.js";

const ones: Init = { kind: "const", value: 1 };

const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));
const ceilDiv = (a: bigint, b: bigint): bigint => -floorDiv(-a, b);

function same(ctx: LayerCtx): LayerOutcome | undefined {
  return { output: ctx.input.shape, tensors: [], macs: 0n };
}

// ── the checks every kind gets from its traits (layers.ts, `LayerTraits`) ─────────────────────────────

/** What is wrong with a value given to a kind, by its traits; the analysis reports it (NN3010) with a label
 *  at the value's origin. */
export interface TraitProblem {
  readonly message: string;
  readonly help?: string;
  readonly notes?: readonly string[];
}

/** Token ids given to a kind that `rejects` them; checked before the kind's shape rule. */
export function tokenIdProblem(traits: LayerTraits, kind: string, input: TensorValue): TraitProblem | undefined {
  if (traits.tokenIds !== "rejects" || input.dtype !== "token") return undefined;
  return {
    message: `\`${kind}\` expects float features, found token ids ${showShape(input.shape)}`,
    help: "token ids go through `embedding(vocab, dim)` first",
  };
}

/** A sequence axis (a symbolic length or token positions, `Dim.positions`) where a kind reads its channels
 *  or features; checked after the kind's shape rule accepted the value (a wrong rank is reported first).
 *  `arg` reads an integer argument of the call (for `channelsUnless`). The help is the `transpose` that
 *  puts a non-sequence axis there, as the recurrent layers' help does for images. */
export function channelAxisProblem(
  traits: LayerTraits,
  kind: string,
  input: TensorValue,
  arg: (name: string) => bigint | undefined,
): TraitProblem | undefined {
  const shape = input.shape;
  if (traits.channels === "none" || shape.length === 0) return undefined;
  if (traits.channelsUnless && arg(traits.channelsUnless.param) === traits.channelsUnless.value) return undefined;
  const first = traits.channels === "first";
  const at = first ? 0 : shape.length - 1;
  const d = shape[at]!;
  if (!d.positions) return undefined;
  const axisWord = first ? "channels" : "features";
  const where = first ? "axis 0" : "the last axis";
  const what = d.symbol !== undefined ? `is the sequence \`${d.symbol}\`` : "indexes token positions";
  // The axis to swap in: the non-sequence axis nearest the other end.
  let other = -1;
  if (first) {
    for (let i = shape.length - 1; i > 0; i--)
      if (!shape[i]!.positions) {
        other = i;
        break;
      }
  } else {
    for (let i = 0; i < shape.length - 1; i++)
      if (!shape[i]!.positions) {
        other = i;
        break;
      }
  }
  let help: string;
  if (other >= 0) {
    const swapped = [...shape];
    swapped[at] = shape[other]!;
    swapped[other] = d;
    const [a, b] = other < at ? [other, at] : [at, other];
    help = `put the ${axisWord} ${first ? "first" : "last"} with \`transpose(${a}, ${b})\` before it (${showShape(swapped)})`;
  } else {
    help = `no axis of ${showShape(shape)} holds ${axisWord}: every axis indexes positions`;
  }
  return {
    message: `\`${kind}\` reads its ${axisWord} from ${where}, but ${where} of ${showShape(shape)} ${what}`,
    notes: [
      `a length is not a ${first ? "channel" : "feature"} count: read as ${axisWord}, it would give the layer ${grouped(d.size)} input ${axisWord}`,
    ],
    help,
  };
}

/** Kinds that keep token ids (`TokenIds` "keeps"), for messages. */
const keepIds = layers.filter((e) => e.tokenIds === "keeps").map((e) => `\`${e.kind}\``);

/** `[…seq, D]`: every axis but the last must index a sequence. */
function requireFeatureAxis(ctx: LayerCtx, what: string): Dim | undefined {
  const shape = ctx.input.shape;
  if (shape.length === 0) {
    ctx.fail("WrongRank", `\`${ctx.kind}\` expects ${what}, found a scalar`, { showInput: true });
    return undefined;
  }
  const leading = shape.slice(0, -1);
  if (leading.some((d) => !d.seq)) {
    ctx.fail("WrongRank", `\`${ctx.kind}\` expects ${what}, found ${showShape(shape)}`, {
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
function positionsLastHelp(shape: Shape): string {
  return `the sequence is the last axis: put it first with \`transpose(0, 1)\` (${showShape([shape[1]!, shape[0]!])})`;
}

/** For a fixed [N, D]: it may be an image row set or a sequence; say how to write either. */
function sequenceHelp(shape: Shape): string {
  if (shape[1]!.positions) return positionsLastHelp(shape);
  return `add \`flatten\` to merge the axes; or, if the first axis is a sequence, declare it as one: \`f32[seq <= ${shape[0]!.size}, ${shape[1]!.size}]\``;
}

function withLast(shape: Shape, size: bigint): Shape {
  return [...shape.slice(0, -1), dim(size)];
}

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

// ── convolution and pooling ──────────────────────────────────────────────────────────────────────────

function spatialInput(ctx: LayerCtx, rank: number): Shape | undefined {
  const shape = ctx.input.shape;
  if (shape.length !== rank + 1) {
    const wanted = rank === 1 ? "[C, L]" : "[C, H, W]";
    ctx.fail("WrongRank", `\`${ctx.kind}\` expects ${wanted}, found ${showShape(shape)}`, {
      showInput: true,
      help: shape.length === 1 && rank === 2 ? "add `reshape([C, H, W])` before it" : undefined,
    });
    return undefined;
  }
  return shape;
}

/** Per-axis values of an option that may be one integer or one per spatial axis. */
function perAxis(ctx: LayerCtx, name: string, rank: number): bigint[] {
  if (rank === 1) return [ctx.int(name)];
  return [...ctx.pair(name)];
}

/** The spatial axes of a convolution's or pool's output: a sequence's positions stay positions (a
 *  convolution over time gives a sequence of another length). */
function spatialOut(input: Shape, sizes: readonly bigint[]): Dim[] {
  return sizes.map((x, i) => (input[i + 1]?.positions ? { size: x, positions: true } : dim(x)));
}

function checkOut(ctx: LayerCtx, sizes: bigint[], inputs: Shape): boolean {
  const bad = sizes.findIndex((s) => s < 1n);
  if (bad === -1) return true;
  ctx.fail(
    "SizeBelowOne",
    `\`${ctx.kind}\` output size drops to ${sizes[bad]} along axis ${bad + 1} of ${showShape(inputs)}`,
    {
      showInput: true,
      help: "use a smaller kernel or stride, or add padding",
    },
  );
  return false;
}

function conv(rank: number): LayerSemantics {
  return (ctx) => {
    const shape = spatialInput(ctx, rank);
    if (!shape) return undefined;
    const cin = shape[0]!.size;
    const out = ctx.int("out");
    const groups = ctx.int("groups");
    if (cin % groups !== 0n || out % groups !== 0n) {
      const which = cin % groups !== 0n ? `input channels ${cin}` : `output channels ${out}`;
      return ctx.fail("NotDivisible", `groups = ${groups} does not divide the ${which}`, {
        arg: "groups",
        showInput: true,
        help: "groups must divide both the input and the output channel counts",
      });
    }
    const k = perAxis(ctx, "kernel", rank);
    const s = perAxis(ctx, "stride", rank);
    const dl = perAxis(ctx, "dilation", rank);
    const mode = ctx.name("padding");
    const sizes: bigint[] = [];
    for (let i = 0; i < rank; i++) {
      const L = shape[i + 1]!.size;
      const span = dl[i]! * (k[i]! - 1n) + 1n;
      if (mode === "same") {
        if (s[i] !== 1n)
          return ctx.fail("WrongOptionType", "`padding = same` needs stride 1", {
            arg: "padding",
            help: "give the padding as a number",
          });
        sizes.push(L);
      } else {
        const p = mode === "valid" ? 0n : perAxis(ctx, "padding", rank)[i]!;
        sizes.push(floorDiv(L + 2n * p - span, s[i]!) + 1n);
      }
    }
    if (!checkOut(ctx, sizes, shape)) return undefined;
    const kernel = k.reduce((a, b) => a * b, 1n);
    const init = fanInUniform((cin / groups) * kernel);
    const tensors: TensorSpec[] = [{ name: "weight", shape: [out, cin / groups, ...k], role: "matrix", init }];
    if (ctx.bool("bias")) tensors.push({ name: "bias", shape: [out], role: "bias", init });
    const outElems = sizes.reduce((a, b) => a * b, 1n) * out;
    return { output: [dim(out), ...spatialOut(shape, sizes)], tensors, macs: outElems * (cin / groups) * kernel };
  };
}

const convTranspose2d: LayerSemantics = (ctx) => {
  const shape = spatialInput(ctx, 2);
  if (!shape) return undefined;
  const cin = shape[0]!.size;
  const out = ctx.int("out");
  const groups = ctx.int("groups");
  if (cin % groups !== 0n || out % groups !== 0n) {
    return ctx.fail("NotDivisible", `groups = ${groups} does not divide both channel counts (${cin} in, ${out} out)`, {
      arg: "groups",
    });
  }
  const k = perAxis(ctx, "kernel", 2);
  const s = perAxis(ctx, "stride", 2);
  const p = perAxis(ctx, "padding", 2);
  const op = perAxis(ctx, "output_padding", 2);
  const dl = perAxis(ctx, "dilation", 2);
  for (let i = 0; i < 2; i++) {
    if (op[i]! >= s[i]! && op[i]! >= dl[i]!) {
      return ctx.fail("WrongOptionType", "output_padding must be smaller than stride or dilation", {
        arg: "output_padding",
      });
    }
  }
  const sizes = [0, 1].map((i) => (shape[i + 1]!.size - 1n) * s[i]! - 2n * p[i]! + dl[i]! * (k[i]! - 1n) + op[i]! + 1n);
  if (!checkOut(ctx, sizes, shape)) return undefined;
  // PyTorch computes fan_in from weight.size(1) · kernel = out/groups · kh · kw for transposed convolutions.
  const init = fanInUniform((out / groups) * k[0]! * k[1]!);
  const tensors: TensorSpec[] = [{ name: "weight", shape: [cin, out / groups, ...k], role: "matrix", init }];
  if (ctx.bool("bias")) tensors.push({ name: "bias", shape: [out], role: "bias", init });
  const inElems = shape[1]!.size * shape[2]!.size * cin;
  return { output: [dim(out), ...spatialOut(shape, sizes)], tensors, macs: inElems * (out / groups) * k[0]! * k[1]! };
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
        return ctx.fail("WrongOptionType", `padding ${p[i]} is more than half the kernel ${k[i]}`, { arg: "padding" });
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
              `window ${w} of \`${ctx.kind}\` along axis ${i + 1} covers only padding (kernel ${k[i]}, dilation ${dl[i]}, padding ${p[i]}, ${L} position${L === 1n ? "" : "s"})`,
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
      `\`global_avg_pool\` expects [C, …] with at least one spatial axis, found ${showShape(ctx.input.shape)}`,
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

// ── shape layers ─────────────────────────────────────────────────────────────────────────────────────

function axisOf(ctx: LayerCtx, name: string, rank: number): number | undefined {
  const a = normalizeAxis(ctx.int(name), rank);
  if (a === undefined) {
    ctx.fail("AxisOutOfRange", `axis ${ctx.int(name)} is out of range for ${showShape(ctx.input.shape)}`, {
      arg: name,
      showInput: true,
      help: "axes do not count the batch; -1 is the last axis",
    });
  }
  return a;
}

const flatten: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  if (shape.length === 0) return { output: shape, tensors: [], macs: 0n };
  const start = axisOf(ctx, "start", shape.length);
  if (start === undefined) return undefined;
  const end = axisOf(ctx, "end", shape.length);
  if (end === undefined) return undefined;
  if (end < start)
    return ctx.fail("AxisOutOfRange", `flatten end axis ${end} comes before start axis ${start}`, { arg: "end" });
  const merged = shape.slice(start, end + 1).reduce((a, d) => a * d.size, 1n);
  const leading = shape.slice(0, start);
  return { output: [...leading, dim(merged)], tensors: [], macs: 0n };
};

const reshape: LayerSemantics = (ctx) => {
  const sizes = [...ctx.ints("shape")];
  const total = product(ctx.input.shape);
  const unknown = sizes.filter((s) => s === -1n).length;
  if (unknown > 1) return ctx.fail("WrongOptionType", "only one size of a reshape may be -1", { arg: "shape" });
  if (sizes.some((s) => s < -1n || s === 0n)) {
    return ctx.fail("NonPositiveSize", "reshape sizes must be positive (or one -1)", { arg: "shape" });
  }
  const known = sizes.filter((s) => s !== -1n).reduce((a, b) => a * b, 1n);
  if (unknown === 1) {
    if (total % known !== 0n) {
      return ctx.fail(
        "NotDivisible",
        `cannot reshape ${showShape(ctx.input.shape)} (${total} elements) into ${formatList(sizes)}`,
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
      `cannot reshape ${showShape(ctx.input.shape)} (${total} elements) into ${formatList(sizes)} (${known})`,
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
  return { output: out.map((d, i) => (i < last ? { ...d, seq: true } : withoutSeq(d))), tensors: [], macs: 0n };
};

function withoutSeq(d: Dim): Dim {
  return {
    size: d.size,
    ...(d.symbol === undefined ? {} : { symbol: d.symbol }),
    ...(d.positions ? { positions: true } : {}),
  };
}

/** `d`, marked as positions when `from` is (a sequence cut or joined along its positions). */
function withPositions(d: Dim, from: Dim): Dim {
  return from.positions ? { ...d, positions: true } : d;
}

const take: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const axis = axisOf(ctx, "axis", shape.length);
  if (axis === undefined) return undefined;
  const index = ctx.int("index");
  const size = shape[axis]!.size;
  if (index >= size || index < -size) {
    return ctx.fail("AxisOutOfRange", `index ${index} is out of range for an axis of size ${size}`, {
      arg: "index",
      showInput: true,
    });
  }
  return { output: shape.filter((_, i) => i !== axis), tensors: [], macs: 0n };
};

const mean: LayerSemantics = (ctx) => {
  const shape = ctx.input.shape;
  const axis = axisOf(ctx, "axis", shape.length);
  if (axis === undefined) return undefined;
  return { output: shape.filter((_, i) => i !== axis), tensors: [], macs: 0n };
};

const concat: LayerSemantics = (ctx) => {
  const inputs = ctx.inputs;
  const first = inputs[0]!;
  if (inputs.length < 2)
    return ctx.fail("TooFewValues", "`concat` needs a list of at least two values: `[a, b] -> concat`", {
      showInput: true,
    });
  const axis = axisOf(ctx, "axis", first.shape.length);
  if (axis === undefined) return undefined;
  let total = 0n;
  for (const v of inputs) {
    const ok =
      v.shape.length === first.shape.length && v.shape.every((d, i) => i === axis || sameDim(d, first.shape[i]!));
    if (!ok) {
      return ctx.fail(
        "ShapeMismatch",
        `cannot concatenate ${showShape(first.shape)} and ${showShape(v.shape)} along axis ${axis}`,
        {
          labels: [
            { span: first.origin, message: `this is ${showShape(first.shape)}` },
            { span: v.origin, message: `this is ${showShape(v.shape)}` },
          ],
          help: "every axis but the concatenated one must match",
        },
      );
    }
    total += v.shape[axis]!.size;
  }
  const out = [...first.shape];
  out[axis] = withPositions(dim(total, first.shape[axis]!.seq ?? false), first.shape[axis]!);
  return { output: out, tensors: [], macs: 0n };
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
      `a split into ${grouped(count)} parts; nnc allows at most ${grouped(maxSplitParts)}`,
      {
        arg: "parts",
        help: "split into fewer, larger parts (a `reshape` can give each part an axis of its own)",
      },
    );
  }
  if (!ctx.isList("parts")) {
    const n = ctx.int("parts");
    if (size % n !== 0n) {
      return ctx.fail("NotDivisible", `cannot split an axis of ${size} into ${n} equal parts`, {
        arg: "parts",
        showInput: true,
      });
    }
    parts = Array.from({ length: Number(n) }, () => size / n);
  } else {
    parts = [...ctx.ints("parts")];
    const sum = parts.reduce((a, b) => a + b, 0n);
    if (sum !== size) {
      return ctx.fail("ShapeMismatch", `split sizes add up to ${sum}, but the axis has ${size}`, {
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
  return { output: value, tensors: [], macs: 0n };
};

// ── embeddings and positions ─────────────────────────────────────────────────────────────────────────

const embedding: LayerSemantics = (ctx) => {
  const num = ctx.int("num");
  const d = ctx.int("dim");
  if (ctx.input.dtype !== "token") {
    const lost = ctx.input.idsLost;
    if (lost) {
      // Averaged or added ids index the table at fractional or out-of-range rows (NaN or a wrong row).
      return ctx.fail(
        "WrongDtype",
        `\`embedding\` expects token ids, but its input ${showShape(ctx.input.shape)} was computed from token ids by ${lost.by}`,
        {
          labels: [{ span: lost.span, message: `${lost.by} does not keep token ids: its result is not an id` }],
          notes: [`only ${keepIds.slice(0, -1).join(", ")} and ${keepIds[keepIds.length - 1]} keep token ids`],
          help: "look the ids up first: put the `embedding` before it",
        },
      );
    }
    return ctx.fail(
      "WrongDtype",
      `\`embedding\` expects token ids, found float features ${showShape(ctx.input.shape)}`,
      {
        showInput: true,
        help: "declare the input as `token[T] of vocab`",
      },
    );
  }
  if (ctx.input.vocab !== undefined && ctx.input.vocab > num) {
    return ctx.fail(
      "ShapeMismatch",
      `token ids go up to ${grouped(ctx.input.vocab - 1n)}, but the embedding has ${grouped(num)} rows`,
      {
        arg: "num",
        showInput: true,
        help: `give it one row per id: \`embedding(${ctx.input.vocab}, ${d})\``,
      },
    );
  }
  if (ctx.has("padding_idx") && ctx.int("padding_idx") >= num) {
    return ctx.fail("AxisOutOfRange", `padding_idx ${ctx.int("padding_idx")} is not a row of a ${num}-row embedding`, {
      arg: "padding_idx",
    });
  }
  const shape = ctx.input.shape.map((x) => ({ ...x, seq: true, positions: true }));
  const padding = ctx.has("padding_idx") ? Number(ctx.int("padding_idx")) : undefined;
  const init: Init = padding === undefined ? { kind: "normal", std: 1 } : { kind: "normal", std: 1, zeroRow: padding };
  return {
    output: [...shape, dim(d)],
    tensors: [{ name: "weight", shape: [num, d], role: "embedding", init }],
    macs: 0n,
  };
};

function sequenceInput(ctx: LayerCtx): { t: Dim; d: Dim } | undefined {
  const shape = ctx.input.shape;
  if (shape.length !== 2 || !shape[0]!.seq) {
    ctx.fail("WrongRank", `\`${ctx.kind}\` expects a sequence [T, D], found ${showShape(shape)}`, {
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

const positional: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  const max = ctx.int("max");
  const d = ctx.int("dim");
  if (s.d.size !== d) {
    return ctx.fail("ShapeMismatch", `positional(${max}, ${d}) is added to vectors of ${s.d.size}`, {
      arg: "dim",
      showInput: true,
    });
  }
  if (s.t.size > max) {
    return ctx.fail(
      "SequenceTooLong",
      `the sequence has ${s.t.symbol ? "up to " : ""}${grouped(s.t.size)} positions, but \`positional\` has ${grouped(max)}`,
      {
        arg: "max",
        showInput: true,
        help: `give it a row per position, \`positional(${s.t.size}, ${d})\`, or bound the input's length`,
      },
    );
  }
  // Learned positions: N(0, 0.02), as GPT-2 and torchvision's ViT initialize them.
  return {
    output: ctx.input.shape,
    tensors: [{ name: "weight", shape: [max, d], role: "embedding", init: { kind: "normal", std: 0.02 } }],
    macs: 0n,
  };
};

const classToken: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  const d = ctx.int("dim");
  if (s.d.size !== d)
    return ctx.fail("ShapeMismatch", `class_token(${d}) is prepended to vectors of ${s.d.size}`, {
      arg: "dim",
      showInput: true,
    });
  return {
    output: [
      {
        size: s.t.size + 1n,
        seq: true,
        ...(s.t.symbol ? { symbol: `${s.t.symbol}+1` } : {}),
        ...(s.t.positions ? { positions: true } : {}),
      },
      s.d,
    ],
    tensors: [{ name: "weight", shape: [1n, 1n, d], role: "embedding" }],
    macs: 0n,
  };
};

const rotary: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  if (s.d.size % 2n !== 0n)
    return ctx.fail("NotDivisible", `rotary positions rotate pairs, but the width ${s.d.size} is odd`, {
      showInput: true,
    });
  return { output: ctx.input.shape, tensors: [], macs: 0n };
};

// ── normalization ────────────────────────────────────────────────────────────────────────────────────

const layernorm: LayerSemantics = (ctx) => {
  if (ctx.input.shape.length === 0)
    return ctx.fail("WrongRank", "`layernorm` needs at least one axis", { showInput: true });
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
  if (shape.length < 1 || shape.length > 3) {
    return ctx.fail("WrongRank", `\`batchnorm\` expects [C], [C, L] or [C, H, W], found ${showShape(shape)}`, {
      showInput: true,
    });
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
  if (shape.length < 1) return ctx.fail("WrongRank", "`groupnorm` expects [C, …]", { showInput: true });
  const c = shape[0]!.size;
  const g = ctx.int("groups");
  if (c % g !== 0n) {
    return ctx.fail("NotDivisible", `groupnorm: ${g} groups do not divide ${c} channels`, {
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

// ── attention and recurrence ─────────────────────────────────────────────────────────────────────────

const attention: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  const D = s.d.size;
  const T = s.t.size;
  const heads = ctx.int("heads");
  const kvHeads = ctx.has("kv_heads") ? ctx.int("kv_heads") : heads;
  let hd: bigint;
  if (ctx.has("head_dim")) hd = ctx.int("head_dim");
  else {
    if (D % heads !== 0n) {
      return ctx.fail("NotDivisible", `${heads} heads do not divide the model width ${D}`, {
        arg: "heads",
        showInput: true,
        help: "choose a head count that divides the width, or give `head_dim`",
      });
    }
    hd = D / heads;
  }
  if (heads % kvHeads !== 0n) {
    return ctx.fail("NotDivisible", `kv_heads = ${kvHeads} does not divide heads = ${heads}`, {
      arg: "kv_heads",
      help: "each key/value head serves the same number of query heads",
    });
  }
  if (ctx.bool("rope") && hd % 2n !== 0n) {
    return ctx.fail("NotDivisible", `rotary positions need an even head dimension, found ${hd}`, { arg: "rope" });
  }
  const bias = ctx.bool("bias");
  const outBias = ctx.has("out_bias") ? ctx.bool("out_bias") : bias;
  const q = heads * hd;
  const kv = kvHeads * hd;
  const tensors: TensorSpec[] = [];
  // Initialization as PyTorch: separate projections are Linear layers; a fused in-projection is
  // xavier_uniform with zero bias (nn.MultiheadAttention); the out-projection bias starts at zero.
  const linear = fanInUniform(D);
  if (ctx.name("qkv") === "separate") {
    for (const [name, rows] of [
      ["q_proj", q],
      ["k_proj", kv],
      ["v_proj", kv],
    ] as const) {
      tensors.push({ name: `${name}.weight`, shape: [rows, D], role: "matrix", init: linear });
      if (bias) tensors.push({ name: `${name}.bias`, shape: [rows], role: "bias", init: linear });
    }
  } else {
    const rows = q + 2n * kv;
    tensors.push({
      name: "qkv_proj.weight",
      shape: [rows, D],
      role: "matrix",
      init: { kind: "uniform", bound: Math.sqrt(6 / Number(rows + D)) },
    });
    if (bias) tensors.push({ name: "qkv_proj.bias", shape: [rows], role: "bias" });
  }
  tensors.push({ name: "out_proj.weight", shape: [D, q], role: "matrix", init: fanInUniform(q) });
  if (outBias) tensors.push({ name: "out_proj.bias", shape: [D], role: "bias" });
  const macs = T * D * (q + 2n * kv) + 2n * T * T * q + T * q * D;
  return { output: ctx.input.shape, tensors, macs };
};

function recurrent(gates: bigint): LayerSemantics {
  return (ctx) => {
    const s = sequenceInput(ctx);
    if (!s) return undefined;
    const H = ctx.int("hidden");
    const layers = ctx.int("layers");
    const dirs = ctx.bool("bidirectional") ? 2n : 1n;
    const convention = ctx.name("bias_convention") ?? "pytorch";
    const bias = ctx.bool("bias");
    // Keras keeps one bias vector per gate set for SimpleRNN and LSTM; its GRU (reset_after = True, the
    // TF2 default) keeps two, like PyTorch.
    const twoBiases = convention === "pytorch" || ctx.kind === "gru";
    const tensors: TensorSpec[] = [];
    // PyTorch: every RNN/LSTM/GRU tensor starts as U(±1/√hidden).
    const init: Init = { kind: "uniform", bound: 1 / Math.sqrt(Number(H)) };
    let macs = 0n;
    for (let l = 0n; l < layers; l++) {
      const inSize = l === 0n ? s.d.size : H * dirs;
      for (let d = 0n; d < dirs; d++) {
        const suffix = `_l${l}${d === 1n ? "_reverse" : ""}`;
        tensors.push({ name: `weight_ih${suffix}`, shape: [gates * H, inSize], role: "matrix", init });
        tensors.push({ name: `weight_hh${suffix}`, shape: [gates * H, H], role: "matrix", init });
        if (bias && twoBiases) {
          tensors.push({ name: `bias_ih${suffix}`, shape: [gates * H], role: "bias", init });
          tensors.push({ name: `bias_hh${suffix}`, shape: [gates * H], role: "bias", init });
        } else if (bias) {
          tensors.push({ name: `bias${suffix}`, shape: [gates * H], role: "bias", init });
        }
        macs += s.t.size * gates * H * (inSize + H);
      }
    }
    const output: Shape = ctx.bool("sequences") ? [s.t, dim(H * dirs)] : [dim(H * dirs)];
    const what = !bias
      ? "no bias"
      : twoBiases
        ? convention === "pytorch"
          ? "pytorch: two bias vectors per gate set (bias_ih + bias_hh)"
          : "keras: GRU with reset_after keeps two bias vectors, like PyTorch"
        : "keras: one bias vector per gate set";
    return { output, tensors, macs, convention: `bias convention ${what}` };
  };
}

// ── activations ──────────────────────────────────────────────────────────────────────────────────────

const prelu: LayerSemantics = (ctx) => {
  const n = ctx.int("num_parameters");
  const channels = ctx.input.shape[0]?.size ?? 1n;
  if (n !== 1n && n !== channels) {
    return ctx.fail("ShapeMismatch", `prelu has ${n} slopes but the input has ${channels} channels`, {
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
  if (axisOf(ctx, "axis", ctx.input.shape.length) === undefined) return undefined;
  return { output: ctx.input.shape, tensors: [], macs: 0n };
};

/** Semantics by kind. Aliases (`swish`) resolve through the vocabulary's `aliasOf`. */
export const semantics: Readonly<Record<string, LayerSemantics>> = {
  dense,
  conv1d: conv(1),
  conv2d: conv(2),
  conv_transpose2d: convTranspose2d,
  max_pool1d: pool(1, "max"),
  max_pool2d: pool(2, "max"),
  avg_pool1d: pool(1, "avg"),
  avg_pool2d: pool(2, "avg"),
  global_avg_pool: globalAvgPool,
  adaptive_avg_pool1d: adaptivePool(1),
  adaptive_avg_pool2d: adaptivePool(2),
  flatten,
  reshape,
  transpose,
  take,
  mean,
  concat,
  split,
  embedding,
  positional,
  class_token: classToken,
  rotary,
  layernorm,
  rmsnorm,
  batchnorm,
  groupnorm,
  dropout: same,
  attention,
  rnn: recurrent(1n),
  lstm: recurrent(4n),
  gru: recurrent(3n),
  relu: same,
  leaky_relu: same,
  prelu,
  elu: same,
  selu: same,
  gelu: same,
  silu: same,
  mish: same,
  sigmoid: same,
  hard_sigmoid: same,
  tanh: same,
  softplus: same,
  softsign: same,
  softmax: softmaxLike,
  log_softmax: softmaxLike,
  identity: same,
};
