// Embeddings and positions: `embedding` (`nn.Embedding`), learned `positional` rows, a `class_token`
// (ViT), `rotary` positions (RoFormer), and `parameter`, a standalone learned tensor (`nn.Parameter`).
import { grouped } from "../../diagnostics/numbers.js";
import {
  bool,
  dBool,
  dDecimal,
  decimal,
  dEnum,
  dNone,
  enumOf,
  listOf,
  nonNegative,
  oneOf,
  p,
  positive,
  thetaRange,
  type NumberRange,
} from "../params.js";
import { featuresLast, op, type KindFamily } from "../kind.js";
import { dim, type Init, type LayerSemantics } from "../types.js";
import { sequenceInput } from "./common.js";

/** Float features given to `embedding` are refused before this rule, by its `tokenIds: "reads"` trait
 *  (traits.ts, `tokenIdProblem`). */
const embedding: LayerSemantics = (ctx) => {
  const num = ctx.int("num");
  const d = ctx.int("dim");
  if (ctx.input.vocab !== undefined && ctx.input.vocab > num) {
    return ctx.fail("ShapeMismatch", ["embeddingRows", { max: grouped(ctx.input.vocab - 1n), rows: grouped(num) }], {
      arg: "num",
      showInput: true,
      help: `give it one row per id: \`embedding(${ctx.input.vocab}, ${d})\``,
    });
  }
  if (ctx.has("padding_idx") && ctx.int("padding_idx") >= num) {
    return ctx.fail("AxisOutOfRange", ["paddingIdx", { index: ctx.int("padding_idx"), rows: num }], {
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

const positional: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  const max = ctx.int("max");
  const d = ctx.int("dim");
  if (s.d.size !== d) {
    return ctx.fail("ShapeMismatch", ["positional", { max, dim: d, width: s.d.size }], {
      arg: "dim",
      showInput: true,
    });
  }
  if (s.t.size > max) {
    return ctx.fail(
      "SequenceTooLong",
      { upTo: s.t.symbol ? "up to " : "", length: grouped(s.t.size), max: grouped(max) },
      {
        arg: "max",
        showInput: true,
        help: `give it a row per position, \`positional(${s.t.size}, ${d})\`, or bound the input's length`,
      },
    );
  }
  // Learned positions: N(0, 0.02), as GPT-2 and torchvision's ViT initialize them. Bare (torchvision's
  // `pos_embedding`, timm's `pos_embed`): an nn.Parameter [1, max, dim] that broadcasts over the batch.
  const bare = ctx.bool("bare");
  return {
    output: ctx.input.shape,
    tensors: [
      {
        name: "weight",
        shape: bare ? [1n, max, d] : [max, d],
        role: "embedding",
        init: { kind: "normal", std: 0.02 },
        ...(bare ? { bare: true as const } : {}),
      },
    ],
    macs: 0n,
  };
};

const classToken: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  const d = ctx.int("dim");
  if (s.d.size !== d)
    return ctx.fail("ShapeMismatch", ["classToken", { dim: d, width: s.d.size }], {
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
    tensors: [
      { name: "weight", shape: [1n, 1n, d], role: "embedding", ...(ctx.bool("bare") ? { bare: true as const } : {}) },
    ],
    macs: 0n,
  };
};

/** `parameter(shape)`: a learned tensor of its own shape, the same for every sample (it does not read the
 *  value flowing in), named by the layer alone (`as gamma` gives `gamma`, a bare `nn.Parameter` of the
 *  enclosing module) and used in value expressions, which broadcast it: `x * gamma` (LayerScale),
 *  `x + pos` (ViT's `pos_embedding`). Its init is PyTorch's constructor: zeros, `scale` · ones, N(0,
 *  `scale`²) or U(−`scale`, `scale`). */
const parameter: LayerSemantics = (ctx) => {
  const shape = ctx.ints("shape");
  const scale = ctx.decimal("scale");
  const kind = ctx.name("init") ?? "zeros";
  const init: Init | undefined =
    kind === "ones"
      ? { kind: "const", value: scale }
      : kind === "normal"
        ? { kind: "normal", std: scale }
        : kind === "uniform"
          ? { kind: "uniform", bound: scale }
          : undefined;
  return {
    output: shape.map((size) => dim(size)),
    tensors: [{ name: "weight", shape, role: "other", ...(init ? { init } : {}), bare: true }],
    macs: 0n,
  };
};

/** `parameter`'s `scale`: any finite number (a constant, a standard deviation, a bound). */
const scaleRange: NumberRange = {
  why: "the constant (`ones`), standard deviation (`normal`) or bound (`uniform`) of the initial values",
};

const rotary: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  if (s.d.size % 2n !== 0n)
    return ctx.fail("NotDivisible", ["rotaryWidth", { width: s.d.size }], {
      showInput: true,
    });
  return { output: ctx.input.shape, tensors: [], macs: 0n };
};

export const embeddingKinds = {
  embedding: op({
    category: "embedding",
    channels: "none",
    tokenIds: "reads",
    description: "a lookup table of token vectors: [T] → [T, dim]",
    args: [p("num", positive), p("dim", positive)],
    options: [p("padding_idx", nonNegative, dNone)],
    shape: embedding,
    positions: "apart",
    doc: { note: "`nn.Embedding(num, dim)`; ids must be below `num`" },
  }),
  positional: op({
    category: "embedding",
    ...featuresLast,
    description: "learned positions added: [T, dim] → [T, dim], T ≤ max",
    args: [p("max", positive), p("dim", positive)],
    options: [p("bare", bool, dBool(false), "a bare nn.Parameter [1, max, dim] named by the layer alone")],
    shape: positional,
    positions: "apart",
    doc: {
      note: "`weight` is `[max, dim]` (GPT-2's `wpe`, an `nn.Embedding`); with `bare = true` the tensor is `[1, max, dim]`, named by the layer alone, a bare `nn.Parameter` of the enclosing module (torchvision ViT's `encoder.pos_embedding`)",
    },
  }),
  class_token: op({
    category: "embedding",
    ...featuresLast,
    description: "a learned vector prepended: [T, dim] → [T + 1, dim]",
    args: [p("dim", positive)],
    options: [p("bare", bool, dBool(false), "named by the layer alone, a bare nn.Parameter")],
    shape: classToken,
    positions: "mixes",
    doc: {
      note: "`weight` is `[1, 1, dim]`; with `bare = true` it is named by the layer alone, a bare `nn.Parameter` of the enclosing module (torchvision ViT's `class_token`)",
    },
  }),
  parameter: op({
    category: "embedding",
    channels: "none",
    tokenIds: "computes",
    description: "a learned tensor of the given shape, the same for every sample, for value expressions",
    args: [p("shape", oneOf(positive, listOf(positive)))],
    options: [
      p("init", enumOf("zeros", "ones", "normal", "uniform"), dEnum("zeros"), "how PyTorch would make it"),
      p("scale", decimal(scaleRange), dDecimal(1), "the value of `ones`, the std of `normal`, the bound of `uniform`"),
    ],
    shape: parameter,
    positions: "mixes",
    doc: {
      shapes: "any value → `shape`",
      note: "an `nn.Parameter` of the enclosing module, named by the layer alone (`parameter(768, init = ones, scale = 1e-5) as gamma` is `gamma`, `[768]`); it does not read the value flowing in, and broadcasts in `x * gamma`, `x + b`, `x - b` (LayerScale, CaiT, ViT's `pos_embedding` as `parameter([197, 768], init = normal, scale = 0.02)`); init `torch.zeros`, `scale * torch.ones`, `normal_(0, scale)`, `uniform_(-scale, scale)`",
    },
  }),
  rotary: op({
    category: "embedding",
    ...featuresLast,
    description: "rotary position encoding, no parameters",
    options: [p("theta", decimal(thetaRange), dDecimal(10_000))],
    shape: rotary,
    positions: "apart",
    doc: { shapes: "`[T, D] → [T, D]`" },
  }),
} satisfies KindFamily;
