// Convolutions: `conv1d`, `conv2d`, `conv3d` (`nn.Conv1d`, `nn.Conv2d`, `nn.Conv3d`) and `conv_transpose1d`,
// `conv_transpose2d` (`nn.ConvTranspose1d`, `nn.ConvTranspose2d`).
import {
  bool,
  dBool,
  dEnum,
  dInt,
  enumOf,
  int,
  intOrPair,
  intOrTriple,
  listOf,
  oneOf,
  p,
  positive,
  spatialArg,
  type ArgType,
  type ParamSpec,
  type RefusedName,
} from "../params.js";
import { channelsFirst, op, type KindFamily } from "../kind.js";
import { dim, fanInUniform, type LayerSemantics, type TensorSpec } from "../types.js";
import { checkOut, floorDiv, perAxis, spatialInput, spatialOut } from "./common.js";

const convOptions = (rank: number): ParamSpec[] => {
  const spatial = (min: bigint): ArgType => spatialArg(rank, min);
  const padding =
    rank > 1 ? oneOf(int(0n), listOf(int(0n), rank), enumOf("same", "valid")) : oneOf(int(0n), enumOf("same", "valid"));
  return [
    p("stride", spatial(1n), dInt(1n)),
    p("padding", padding, dInt(0n), "zero padding on each side, or `same` / `valid`"),
    p("dilation", spatial(1n), dInt(1n)),
    p("groups", positive, dInt(1n)),
    p("bias", bool, dBool(true)),
    p(
      "padding_mode",
      enumOf(...paddingModes),
      dEnum("zeros"),
      "what the padding holds: zeros, the input mirrored (`reflect`), its edge repeated (`replicate`) or wrapped around (`circular`)",
    ),
  ];
};

/** `nn.Conv*d(padding_mode=…)`: the values PyTorch takes. */
const paddingModes = ["zeros", "reflect", "replicate", "circular"];

/** A transposed convolution takes only `padding_mode = zeros`, as PyTorch's ConvTranspose raises for others. */
const transposedPaddingModes: readonly RefusedName[] = paddingModes.slice(1).map((name) => ({
  name,
  why: "PyTorch's ConvTranspose raises \"Only 'zeros' padding mode is supported\": its padding takes rows off the output, it adds none",
  help: "leave `padding_mode` out (zeros), or pad the input first",
}));

/** A transposed convolution's `padding` takes rows off its output, (in − 1)·stride − 2·padding +
 *  dilation·(kernel − 1) + output_padding + 1 (PyTorch's `nn.ConvTranspose2d` docs, "Shape"); its
 *  `padding` is integers only, with no `'same'` or `'valid'` string as `nn.Conv2d` has. */
const transposedPadding: readonly RefusedName[] = [
  {
    name: "same",
    why: "a transposed convolution has no `padding = same`: its padding removes rows from the output, out = (in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1 (PyTorch's ConvTranspose takes integers only)",
    help: "for out = in · stride, choose 2·padding − output_padding = dilation·(kernel − 1) + 1 − stride; with dilation 1: kernel 4, stride 2 → `padding = 1`; kernel 3, stride 2 → `padding = 1, output_padding = 1`; stride 1, odd kernel → `padding = (kernel − 1) / 2`",
  },
  {
    name: "valid",
    why: "a transposed convolution has no `padding = valid` (PyTorch's ConvTranspose takes integers only)",
    help: "`valid` means no padding: write `padding = 0`, the default",
  },
];

function conv(rank: number): LayerSemantics {
  return (ctx) => {
    const shape = spatialInput(ctx, rank);
    if (!shape) return undefined;
    const cin = shape[0]!.size;
    const out = ctx.int("out");
    const groups = ctx.int("groups");
    if (cin % groups !== 0n || out % groups !== 0n) {
      const which = cin % groups !== 0n ? `input channels ${cin}` : `output channels ${out}`;
      return ctx.fail("NotDivisible", ["groups", { groups, which }], {
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
    /** The padding before each axis: `same` pads dilation·(kernel − 1) in all, the smaller half first
     *  (PyTorch puts the odd cell at the end). */
    const pads: bigint[] = [];
    for (let i = 0; i < rank; i++) {
      const L = shape[i + 1]!.size;
      const span = dl[i]! * (k[i]! - 1n) + 1n;
      if (mode === "same") {
        if (s[i] !== 1n)
          return ctx.fail("WrongOptionType", ["sameStride", {}], {
            arg: "padding",
            help: "give the padding as a number",
          });
        sizes.push(L);
        pads.push((dl[i]! * (k[i]! - 1n)) / 2n);
      } else {
        const p = mode === "valid" ? 0n : perAxis(ctx, "padding", rank)[i]!;
        sizes.push(floorDiv(L + 2n * p - span, s[i]!) + 1n);
        pads.push(p);
      }
    }
    if (!checkOut(ctx, sizes, shape)) return undefined;
    // PyTorch pads with F.pad first when padding_mode is not zeros: `reflect` mirrors without repeating the
    // edge, so each side's padding must be below the axis' size; `circular` wraps around at most once.
    const padMode = ctx.name("padding_mode") ?? "zeros";
    if (padMode === "reflect" || padMode === "circular") {
      for (let i = 0; i < rank; i++) {
        const L = shape[i + 1]!.size;
        const after = mode === "same" ? dl[i]! * (k[i]! - 1n) - pads[i]! : pads[i]!;
        const widest = pads[i]! > after ? pads[i]! : after;
        if (padMode === "reflect" ? widest >= L : widest > L)
          return ctx.fail("PaddingModeSize", [padMode, { axis: i + 1, size: L, padding: widest }], {
            arg: "padding",
            showInput: true,
            help:
              padMode === "reflect"
                ? `pad by at most ${L - 1n} along this axis, or use \`padding_mode = replicate\``
                : `pad by at most ${L} along this axis`,
          });
      }
    }
    const kernel = k.reduce((a, b) => a * b, 1n);
    const init = fanInUniform((cin / groups) * kernel);
    const tensors: TensorSpec[] = [{ name: "weight", shape: [out, cin / groups, ...k], role: "matrix", init }];
    if (ctx.bool("bias")) tensors.push({ name: "bias", shape: [out], role: "bias", init });
    const outElems = sizes.reduce((a, b) => a * b, 1n) * out;
    return {
      output: [dim(out), ...spatialOut(shape, sizes)],
      tensors,
      macs: outElems * (cin / groups) * kernel,
      // ResolvedAttrs: `padding`, the padding before each spatial axis (a `same` or `valid` resolved).
      attrs: { padding: pads },
    };
  };
}

function convTranspose(rank: number): LayerSemantics {
  return (ctx) => {
    const shape = spatialInput(ctx, rank);
    if (!shape) return undefined;
    const cin = shape[0]!.size;
    const out = ctx.int("out");
    const groups = ctx.int("groups");
    if (cin % groups !== 0n || out % groups !== 0n) {
      return ctx.fail("NotDivisible", ["groupsBoth", { groups, cin, out }], {
        arg: "groups",
      });
    }
    const k = perAxis(ctx, "kernel", rank);
    const s = perAxis(ctx, "stride", rank);
    const p = perAxis(ctx, "padding", rank);
    const op = perAxis(ctx, "output_padding", rank);
    const dl = perAxis(ctx, "dilation", rank);
    for (let i = 0; i < rank; i++) {
      if (op[i]! >= s[i]! && op[i]! >= dl[i]!) {
        return ctx.fail("WrongOptionType", ["outputPadding", {}], {
          arg: "output_padding",
        });
      }
    }
    const sizes = k.map((_, i) => (shape[i + 1]!.size - 1n) * s[i]! - 2n * p[i]! + dl[i]! * (k[i]! - 1n) + op[i]! + 1n);
    if (!checkOut(ctx, sizes, shape)) return undefined;
    const kernel = k.reduce((a, b) => a * b, 1n);
    // PyTorch computes fan_in from weight.size(1) · kernel = out/groups · k… for transposed convolutions.
    const init = fanInUniform((out / groups) * kernel);
    const tensors: TensorSpec[] = [{ name: "weight", shape: [cin, out / groups, ...k], role: "matrix", init }];
    if (ctx.bool("bias")) tensors.push({ name: "bias", shape: [out], role: "bias", init });
    const inElems = shape.slice(1).reduce((a, d) => a * d.size, 1n) * cin;
    return { output: [dim(out), ...spatialOut(shape, sizes)], tensors, macs: inElems * (out / groups) * kernel };
  };
}

const transposedOptions = (rank: number): ParamSpec[] => [
  p("stride", spatialArg(rank, 1n), dInt(1n)),
  { ...p("padding", spatialArg(rank, 0n), dInt(0n)), refuses: transposedPadding },
  p("output_padding", spatialArg(rank, 0n), dInt(0n)),
  p("groups", positive, dInt(1n)),
  p("dilation", spatialArg(rank, 1n), dInt(1n)),
  p("bias", bool, dBool(true)),
  {
    ...p("padding_mode", enumOf("zeros"), dEnum("zeros"), "zeros only, as in PyTorch"),
    refuses: transposedPaddingModes,
  },
];

/** What the Vocabulary says of `padding_mode`. */
const paddingModeNote =
  "`padding_mode` as PyTorch's: `reflect` mirrors the input without repeating its edge (each side's padding below the axis' size, NN4032), `replicate` repeats the edge, `circular` wraps around (at most the size); `same` padding with any mode; the output shape is the same";

export const convKinds = {
  conv1d: op({
    category: "conv",
    ...channelsFirst,
    description: "a 1d convolution over [C, L]",
    args: [p("out", positive), p("kernel", positive)],
    options: convOptions(1),
    shape: conv(1),
    positions: "mixes",
    doc: { shapes: "`[C, L] → [out, L′]`", note: paddingModeNote },
  }),
  conv2d: op({
    category: "conv",
    ...channelsFirst,
    description: "a 2d convolution over [C, H, W]",
    args: [p("out", positive), p("kernel", intOrPair(1n))],
    options: convOptions(2),
    shape: conv(2),
    positions: "mixes",
    doc: {
      shapes: "`[C, H, W] → [out, H′, W′]`",
      note: `\`kernel\`, \`stride\`, \`padding\`, \`dilation\` may be \`[h, w]\`; ${paddingModeNote}`,
    },
  }),
  conv3d: op({
    category: "conv",
    ...channelsFirst,
    description: "a 3d convolution over [C, D, H, W]",
    args: [p("out", positive), p("kernel", intOrTriple(1n))],
    options: convOptions(3),
    shape: conv(3),
    positions: "mixes",
    doc: {
      shapes: "`[C, D, H, W] → [out, D′, H′, W′]`",
      note: `\`nn.Conv3d\`; \`kernel\`, \`stride\`, \`padding\`, \`dilation\` may be \`[d, h, w]\`; ${paddingModeNote}`,
    },
  }),
  conv_transpose1d: op({
    category: "conv",
    ...channelsFirst,
    description: "a 1d transposed convolution over [C, L]",
    args: [p("out", positive), p("kernel", positive)],
    options: transposedOptions(1),
    shape: convTranspose(1),
    positions: "mixes",
    doc: {
      shapes: "`[C, L] → [out, L′]`",
      note: "`nn.ConvTranspose1d`; `padding` is integers only, as in PyTorch",
    },
  }),
  conv_transpose2d: op({
    category: "conv",
    ...channelsFirst,
    description: "a 2d transposed convolution over [C, H, W]",
    args: [p("out", positive), p("kernel", intOrPair(1n))],
    options: transposedOptions(2),
    shape: convTranspose(2),
    positions: "mixes",
    doc: {
      shapes: "`[C, H, W] → [out, H′, W′]`",
      note: "`padding` is integers only, as in PyTorch (no `same`/`valid`: NN4002 says which padding gives stride × the input)",
    },
  }),
} satisfies KindFamily;
