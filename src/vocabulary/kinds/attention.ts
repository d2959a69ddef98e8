// `attention`: multi-head self-attention (`nn.MultiheadAttention`, or separate q/k/v projections as in
// Hugging Face models), with grouped-query heads, rotary positions and a causal mask.
import {
  bool,
  dBool,
  dDecimal,
  decimal,
  dEnum,
  dSameAs,
  enumOf,
  p,
  positive,
  probabilityRange,
  thetaRange,
} from "../params.js";
import { featuresLast, op, type KindFamily } from "../kind.js";
import { fanInUniform, type LayerSemantics, type TensorSpec } from "../types.js";
import { sequenceInput } from "./common.js";

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
      return ctx.fail("NotDivisible", ["heads", { heads, width: D }], {
        arg: "heads",
        showInput: true,
        help: "choose a head count that divides the width, or give `head_dim`",
      });
    }
    hd = D / heads;
  }
  if (heads % kvHeads !== 0n) {
    return ctx.fail("NotDivisible", ["kvHeads", { kvHeads, heads }], {
      arg: "kv_heads",
      help: "each key/value head serves the same number of query heads",
    });
  }
  if (ctx.bool("rope") && hd % 2n !== 0n) {
    return ctx.fail("NotDivisible", ["rotaryHead", { headDim: hd }], { arg: "rope" });
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
  // ResolvedAttrs: `kv_heads` and `head_dim` (D / heads unless given).
  return { output: ctx.input.shape, tensors, macs, attrs: { kv_heads: kvHeads, head_dim: hd } };
};

export const attentionKinds = {
  attention: op({
    category: "attention",
    ...featuresLast,
    description: "multi-head self-attention",
    args: [p("heads", positive)],
    options: [
      p("kv_heads", positive, dSameAs("heads"), "key/value heads (grouped-query attention when fewer)"),
      p("causal", bool, dBool(false)),
      p("bias", bool, dBool(true)),
      p("qkv", enumOf("fused", "separate"), dEnum("fused"), "one fused projection or three"),
      p("head_dim", positive, { kind: "derived", formula: "D / heads" }),
      p("out_bias", bool, dSameAs("bias")),
      p("rope", bool, dBool(false)),
      p("rope_theta", decimal(thetaRange), dDecimal(10_000)),
      p("dropout", decimal(probabilityRange), dDecimal(0)),
    ],
    shape: attention,
    // Mixes positions, but generated code masks padded keys out of the softmax (and a causal mask keeps
    // later ones out), so a shorter call is exactly the full one cut.
    positions: "apart",
    doc: { shapes: "`[T, D] → [T, D]`" },
  }),
} satisfies KindFamily;
