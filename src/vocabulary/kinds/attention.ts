// `attention`: multi-head self-attention (`nn.MultiheadAttention`, or separate q/k/v projections as in
// Hugging Face models), with grouped-query heads, rotary positions and a causal mask. Its projections'
// tensors are named by string options, so that a checkpoint's own names come out exactly: HF GPT-2
// (`qkv_proj = "c_attn", out_proj = "c_proj"`), BERT (`q_proj = "self.query"`, …,
// `out_proj = "output.dense"`), `nn.MultiheadAttention` (`qkv_proj = "in_proj_"`: in_proj_weight).
// `layout = in_out` stores every projection matrix [in, out], as HF GPT-2's Conv1D (c_attn [D, 3D]).
import {
  bool,
  dBool,
  dDecimal,
  decimal,
  dEnum,
  dSameAs,
  dString,
  enumOf,
  p,
  perCall,
  positive,
  probabilityRange,
  str,
  thetaRange,
} from "../params.js";
import { featuresLast, op, type KindFamily } from "../kind.js";
import {
  fanInUniform,
  matrixShape,
  sameDim,
  showDim,
  showShape,
  type Dim,
  type TensorValue,
  type LayerCtx,
  type LayerSemantics,
  type MatrixLayout,
  type TensorSpec,
} from "../types.js";
import { sequenceInput } from "./common.js";

/** The options that name attention's projections, each defaulting to its own name. */
export const projectionOptions = ["q_proj", "k_proj", "v_proj", "qkv_proj", "out_proj"] as const;
export type ProjectionOption = (typeof projectionOptions)[number];

/** A projection's tensor name from its name option: `"c_attn"` → `c_attn.weight`, a submodule as
 *  `nn.Linear` makes; a name ending in `_` is the tensors' own prefix instead, as `nn.MultiheadAttention`
 *  stores its fused in-projection: `"in_proj_"` → `in_proj_weight`, `in_proj_bias`. */
export function projectionTensor(name: string, local: "weight" | "bias"): string {
  return name.endsWith("_") ? `${name}${local}` : `${name}.${local}`;
}

/** The name a projection's option gives, as the shape rule and the kernel read it: beside a fused bias named
 *  as nn.MultiheadAttention's tensors (`qkv_proj = "in_proj_"`), the three weights of keys or values of
 *  another width are PyTorch's `q_proj_weight`, `k_proj_weight`, `v_proj_weight` unless named. */
export function projectionName(
  option: ProjectionOption,
  fused: boolean,
  read: { has(name: string): boolean; string(name: string): string },
): string {
  const weight = option === "q_proj" || option === "k_proj" || option === "v_proj";
  return fused && weight && !read.has(option) && read.string("qkv_proj").endsWith("_")
    ? `${option}_`
    : read.string(option);
}

/** Why a name option is not a module path (segments of letters, digits and `_` joined by `.`), or
 *  undefined when it is one. */
function namePathProblem(name: string): string | undefined {
  if (name === "") return "it is empty";
  for (const segment of name.split(".")) {
    if (segment === "") return "it has an empty segment";
    const bad = [...segment].find((ch) => !/[A-Za-z0-9_]/.test(ch));
    if (bad !== undefined) return `${JSON.stringify(bad)} is not a letter, digit or \`_\``;
  }
  return undefined;
}

/** The projection names this call uses (the fused or the separate ones, and the output's), checked: each
 *  a module path, none given for a projection the call does not have, no two naming the same tensor or
 *  one inside another. Undefined when a problem was reported. */
function projectionNames(
  ctx: LayerCtx,
  fused: boolean,
  bias: boolean,
  kBias: boolean,
  outBias: boolean,
  splitWidths: boolean,
  biasKv: boolean,
) {
  // `qkv = fused` with keys or values of another width (kdim, vdim): three weights and the fused bias.
  const used: readonly ProjectionOption[] = fused
    ? splitWidths
      ? ["qkv_proj", "q_proj", "k_proj", "v_proj", "out_proj"]
      : ["qkv_proj", "out_proj"]
    : ["q_proj", "k_proj", "v_proj", "out_proj"];
  for (const option of projectionOptions) {
    if (used.includes(option) || !ctx.has(option)) continue;
    return ctx.fail(
      "ProjectionNameUnused",
      fused
        ? { option, what: "a separate projection", has: "one fused projection (`qkv = fused`)" }
        : { option, what: "the fused projection", has: "separate q, k and v projections (`qkv = separate`)" },
      {
        arg: option,
        help: fused
          ? "name the fused projection with `qkv_proj`, or write `qkv = separate`"
          : "name the projections with `q_proj`, `k_proj` and `v_proj`, or drop `qkv = separate`",
      },
    );
  }
  const names = new Map<ProjectionOption, string>();
  for (const option of used) {
    const name = projectionName(option, fused, ctx);
    const problem = namePathProblem(name);
    if (problem !== undefined) {
      return ctx.fail(
        "BadTensorName",
        { option, value: JSON.stringify(name), problem },
        { arg: option, help: 'write names of letters, digits and `_` joined by `.`, as in `"self.query"`' },
      );
    }
    names.set(option, name);
  }
  // add_bias_kv's tensors, `bias_k` and `bias_v`, are named too: a projection named `bias_k` would hold
  // `bias_k.weight` inside it.
  const tensors: { option: ProjectionOption | "add_bias_kv"; tensor: string }[] = biasKv
    ? [
        { option: "add_bias_kv", tensor: "bias_k" },
        { option: "add_bias_kv", tensor: "bias_v" },
      ]
    : [];
  for (const option of used) {
    const withBias =
      option === "out_proj"
        ? outBias
        : option === "k_proj" && !fused
          ? kBias
          : bias && (!fused || option === "qkv_proj");
    const withWeight = !(fused && splitWidths && option === "qkv_proj");
    const locals = [...(withWeight ? (["weight"] as const) : []), ...(withBias ? (["bias"] as const) : [])];
    for (const local of locals) {
      tensors.push({ option, tensor: projectionTensor(names.get(option)!, local) });
    }
  }
  for (const a of tensors) {
    for (const b of tensors) {
      if (a.option === b.option) continue;
      if (a.tensor === b.tensor || b.tensor.startsWith(`${a.tensor}.`)) {
        // (add_bias_kv, not in `used`, comes first: the projection's name is the one to change.)
        const at = (o: (typeof tensors)[number]["option"]) => (o === "add_bias_kv" ? -1 : used.indexOf(o));
        const [first, second] = at(a.option) < at(b.option) ? [a, b] : [b, a];
        return ctx.fail(
          "TensorNameClash",
          { first: first.option, second: second.option, tensor: a.tensor },
          { arg: second.option, help: "give each projection a name of its own" },
        );
      }
    }
  }
  return names;
}

interface Memory {
  readonly s: Dim;
  readonly e: Dim;
  readonly origin: TensorValue["origin"];
}

/** The memory of cross-attention: keys and values from the second value (`[x, memory] -> attention(…)`),
 *  or keys from the second and values from the third (`[x, keys, values]`, PyTorch's `mha(x, k, v)`), each
 *  a sequence [S, E] of its own length. Undefined when a problem was reported. */
function memoryInputs(ctx: LayerCtx): { keys: Memory; values: Memory } | undefined {
  if (ctx.inputs.length > 3) {
    return ctx.fail("BadValueUse", ["queryMemory", { kind: ctx.kind, count: ctx.inputs.length }], {
      help: "give the query and a memory, `[x, memory] -> attention(…)`, or the query, keys and values, `[x, keys, values]`",
    });
  }
  const found: Memory[] = [];
  for (const [k, memory] of ctx.inputs.slice(1).entries()) {
    const shape = memory.shape;
    const which = ctx.inputs.length === 2 ? "memory" : k === 0 ? "keys" : "values";
    if (shape.length !== 2 || !shape[0]!.seq) {
      return ctx.fail(
        "WrongRank",
        [
          "expects",
          {
            kind: ctx.kind,
            what: `a ${which} sequence [S, E] as its ${k === 0 ? "second" : "third"} value`,
            shape: showShape(shape),
          },
        ],
        {
          labels: [{ span: memory.origin, message: `this ${which} value has shape ${showShape(shape)}` }],
          help:
            shape.length === 2
              ? `declare the first axis as a sequence: \`f32[s <= ${shape[0]!.size}, ${shape[1]!.size}]\``
              : "give one vector per position, [S, E]",
        },
      );
    }
    found.push({ s: shape[0]!, e: shape[1]!, origin: memory.origin });
  }
  const [keys, values] = [found[0]!, found[1] ?? found[0]!];
  if (!sameDim(keys.s, values.s)) {
    return ctx.fail("ShapeMismatch", ["keysValues", { keys: showDim(keys.s), values: showDim(values.s) }], {
      labels: [
        { span: keys.origin, message: `the keys have ${showDim(keys.s)} positions` },
        { span: values.origin, message: `the values have ${showDim(values.s)}` },
      ],
      help: "give keys and values of one sequence: each key has its value",
    });
  }
  return { keys, values };
}

/** `causal` and `rope` order keys by position: refused (with `code`, and a help per option) where the keys
 *  have none of the query's positions (a memory, add_bias_kv's extra key). Whether it reported one. */
function refusePositional(
  ctx: LayerCtx,
  code: "CrossAttentionOption" | "BiasKvOption",
  help: { readonly causal: string; readonly rope: string },
): boolean {
  const option = (["causal", "rope"] as const).find((o) => ctx.bool(o));
  if (option) ctx.fail(code, { option }, { arg: option, help: help[option] });
  return option !== undefined;
}

const attention: LayerSemantics = (ctx) => {
  const s = sequenceInput(ctx);
  if (!s) return undefined;
  const D = s.d.size;
  const T = s.t.size;
  // Cross-attention: keys and values from a second value, the memory (PyTorch's `mha(x, memory, memory)`),
  // or from a second and a third (`mha(x, keys, values)`).
  const cross = ctx.inputs.length > 1;
  const memory = cross ? memoryInputs(ctx) : undefined;
  if (cross && !memory) return undefined;
  const S = memory ? memory.keys.s.size : T;
  // The keys' and values' widths (PyTorch's kdim, vdim): the query's unless given.
  const kdim = ctx.has("kdim") ? ctx.int("kdim") : D;
  const vdim = ctx.has("vdim") ? ctx.int("vdim") : D;
  if (!memory) {
    for (const [option, width] of [
      ["kdim", kdim],
      ["vdim", vdim],
    ] as const) {
      if (width === D) continue;
      return ctx.fail("ShapeMismatch", ["selfWidth", { option, value: width, width: D }], {
        arg: option,
        showInput: true,
        help: "give keys and values of that width as a memory, `[x, memory] -> attention(…)`",
      });
    }
  }
  if (memory) {
    if (
      refusePositional(ctx, "CrossAttentionOption", {
        causal:
          "a causal mask orders the query's positions against its own keys; drop `causal` for attention to a memory",
        rope: "rotary positions rotate queries and keys of one sequence; drop `rope` for attention to a memory",
      })
    )
      return undefined;
    const two = ctx.inputs.length === 2;
    for (const [option, width, value] of [
      ["kdim", kdim, memory.keys],
      ["vdim", vdim, memory.values],
    ] as const) {
      if (value.e.size === width) continue;
      const what = two ? "memory" : option === "kdim" ? "keys" : "values";
      const label = { span: value.origin, message: `the ${what} value has width ${value.e.size}` };
      if (!ctx.has(option)) {
        return ctx.fail("ShapeMismatch", ["memoryWidth", { what, memory: value.e.size, width: D }], {
          showInput: true,
          labels: [label],
          help: two
            ? `give \`kdim = ${value.e.size}, vdim = ${value.e.size}\` (nn.MultiheadAttention's kdim and vdim), or project the memory to ${D} with \`dense\``
            : `give \`${option} = ${value.e.size}\` (nn.MultiheadAttention's ${option})`,
        });
      }
      return ctx.fail("ShapeMismatch", ["optionWidth", { option, value: width, what, width: value.e.size }], {
        arg: option,
        labels: [label],
        help: `write \`${option} = ${value.e.size}\`, the ${what}' width`.replace("memory'", "memory's"),
      });
    }
  }
  // Keys or values of another width than the query: three matrices, as nn.MultiheadAttention keeps them
  // (q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]) with the one fused bias.
  const splitWidths = kdim !== D || vdim !== D;
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
  // add_bias_kv (nn.MultiheadAttention's): one more key and value, bias_k and bias_v [1, 1, kv_heads·hd],
  // after the projected keys and values, seen by every query (never padded out). The kernel places it after
  // the call's last key, so options that order keys by position are refused.
  const biasKv = ctx.bool("add_bias_kv");
  if (biasKv) {
    if (
      refusePositional(ctx, "BiasKvOption", {
        causal: "drop `causal`, or drop `add_bias_kv`: nnc's causal mask has no column for the extra key",
        rope: "drop `rope`, or drop `add_bias_kv`: the extra key would have no position to rotate by",
      })
    )
      return undefined;
  }
  const bias = ctx.bool("bias");
  const outBias = ctx.has("out_bias") ? ctx.bool("out_bias") : bias;
  // The key projection's bias apart (HF Whisper's k_proj has none, q_proj and v_proj have theirs): only
  // with separate projections, since a fused bias [q + 2kv] cannot lack its k third (PyTorch's in_proj_bias).
  const kBias = ctx.has("k_bias") ? ctx.bool("k_bias") : bias;
  const q = heads * hd;
  const kv = kvHeads * hd;
  const fused = ctx.name("qkv") !== "separate";
  if (fused && kBias !== bias) {
    return ctx.fail(
      "FusedKeyBias",
      { kBias: String(kBias), bias: String(bias) },
      {
        arg: "k_bias",
        help: "write `qkv = separate` for a key projection with a bias of its own (or without one), or drop `k_bias`",
      },
    );
  }
  const names = projectionNames(ctx, fused, bias, kBias, outBias, splitWidths, biasKv);
  if (!names) return undefined;
  const tensor = (option: ProjectionOption, local: "weight" | "bias") => projectionTensor(names.get(option)!, local);
  // `layout = in_out` stores every projection matrix [in, out], as HF GPT-2's Conv1D c_attn and c_proj.
  const layout = (ctx.name("layout") ?? "out_in") as MatrixLayout;
  const stored = layout === "in_out" ? { layout } : {};
  const tensors: TensorSpec[] = [];
  // Initialization as PyTorch: separate projections are Linear layers; a fused in-projection is
  // xavier_uniform with zero bias (nn.MultiheadAttention); the out-projection bias starts at zero.
  if (!fused || splitWidths) {
    for (const [name, rows, width] of [
      ["q_proj", q, D],
      ["k_proj", kv, kdim],
      ["v_proj", kv, vdim],
    ] as const) {
      tensors.push({
        name: tensor(name, "weight"),
        shape: matrixShape(layout, rows, width),
        role: "matrix",
        // nn.MultiheadAttention's separate weights: xavier_uniform each.
        init: fused ? { kind: "uniform", bound: Math.sqrt(6 / Number(rows + width)) } : fanInUniform(width),
        ...stored,
      });
      if (!fused && (name === "k_proj" ? kBias : bias))
        tensors.push({ name: tensor(name, "bias"), shape: [rows], role: "bias", init: fanInUniform(width) });
    }
    if (bias && fused) tensors.push({ name: tensor("qkv_proj", "bias"), shape: [q + 2n * kv], role: "bias" });
  } else {
    const rows = q + 2n * kv;
    tensors.push({
      name: tensor("qkv_proj", "weight"),
      shape: matrixShape(layout, rows, D),
      role: "matrix",
      init: { kind: "uniform", bound: Math.sqrt(6 / Number(rows + D)) },
      ...stored,
    });
    if (bias) tensors.push({ name: tensor("qkv_proj", "bias"), shape: [rows], role: "bias" });
  }
  if (biasKv) {
    // nn.MultiheadAttention: xavier_normal_ on [1, 1, E], fan_in = fan_out = E: N(0, 1/E).
    for (const name of ["bias_k", "bias_v"]) {
      tensors.push({
        name,
        shape: [1n, 1n, kv],
        role: "bias",
        init: { kind: "normal", std: 1 / Math.sqrt(Number(kv)) },
      });
    }
  }
  tensors.push({
    name: tensor("out_proj", "weight"),
    shape: matrixShape(layout, D, q),
    role: "matrix",
    init: fanInUniform(q),
    ...stored,
  });
  if (outBias) tensors.push({ name: tensor("out_proj", "bias"), shape: [D], role: "bias" });
  // q from the T query positions; k and v from the S memory positions (S = T for self-attention).
  // add_bias_kv: one key more for every query.
  const keys = S + (biasKv ? 1n : 0n);
  const macs = T * D * q + S * (kdim + vdim) * kv + 2n * T * keys * q + T * q * D;
  // ResolvedAttrs: `kv_heads`, `head_dim` (D / heads unless given), `kdim` and `vdim` (D unless given).
  return { output: ctx.input.shape, tensors, macs, attrs: { kv_heads: kvHeads, head_dim: hd, kdim, vdim } };
};

export const attentionKinds = {
  attention: op({
    category: "attention",
    ...featuresLast,
    description: "multi-head self-attention, or cross-attention to a memory",
    args: [p("heads", positive)],
    options: [
      p("kv_heads", positive, dSameAs("heads"), "key/value heads (grouped-query attention when fewer)"),
      // PyTorch passes the mask per call (`attn_mask`, `is_causal`): one instance may be used both ways.
      perCall(p("causal", bool, dBool(false))),
      p("bias", bool, dBool(true)),
      p("qkv", enumOf("fused", "separate"), dEnum("fused"), "one fused projection or three"),
      p("head_dim", positive, { kind: "derived", formula: "D / heads" }),
      p("out_bias", bool, dSameAs("bias")),
      p("k_bias", bool, dSameAs("bias"), "the key projection's bias apart (`qkv = separate`; HF Whisper's has none)"),
      p("rope", bool, dBool(false)),
      p("rope_theta", decimal(thetaRange), dDecimal(10_000)),
      p("dropout", decimal(probabilityRange), dDecimal(0)),
      p("add_bias_kv", bool, dBool(false), "one more key and value, `bias_k` and `bias_v` (nn.MultiheadAttention's)"),
      p("kdim", positive, { kind: "derived", formula: "D" }, "the keys' width (`[x, memory]` or `[x, keys, values]`)"),
      p("vdim", positive, { kind: "derived", formula: "D" }, "the values' width"),
      p(
        "layout",
        enumOf("out_in", "in_out"),
        dEnum("out_in"),
        "projection matrices as `nn.Linear` stores them, `[out, in]`, or as HF `Conv1D`, `[in, out]`",
      ),
      p("qkv_proj", str, dString("qkv_proj"), "the fused projection's name (`qkv = fused`)"),
      p("q_proj", str, dString("q_proj"), "the query projection's name (`qkv = separate`)"),
      p("k_proj", str, dString("k_proj"), "the key projection's name (`qkv = separate`)"),
      p("v_proj", str, dString("v_proj"), "the value projection's name (`qkv = separate`)"),
      p("out_proj", str, dString("out_proj"), "the output projection's name"),
    ],
    // One value (self-attention) or `[x, memory]` (cross-attention: keys and values from the memory).
    inputs: "list",
    shape: attention,
    // Mixes positions, but generated code masks padded keys out of the softmax (and a causal mask keeps
    // later ones out), so a shorter call is exactly the full one cut.
    positions: "apart",
    doc: {
      shapes: "`[T, D] → [T, D]`; `[x, memory]`: `[T, D]` and `[S, kdim]` → `[T, D]`",
      note: 'each projection\'s tensors are named by its option: `qkv_proj = "c_attn"` gives `c_attn.weight`, `out_proj = "output.dense"` gives `output.dense.weight`, and a name ending in `_` prefixes the tensors themselves (`qkv_proj = "in_proj_"`: `in_proj_weight`, `in_proj_bias`, as `nn.MultiheadAttention`); `[x, memory] -> attention(heads)` is cross-attention, `mha(x, memory, memory)`: queries from `x`, keys and values from the memory, a sequence of its own length (its padded keys masked as in self-attention), neither `causal` nor `rope`; `[x, keys, values]` takes them apart; `kdim`/`vdim` other than D give three weights beside the fused bias, as `nn.MultiheadAttention` (`q_proj_weight`, `k_proj_weight`, `v_proj_weight` with `qkv_proj = "in_proj_"`); `add_bias_kv` appends one key and one value, `bias_k` and `bias_v` [1, 1, kv_heads·head_dim], after the projected ones (after the call\'s last position when shorter: never padded out), as `nn.MultiheadAttention(…, add_bias_kv=True)`; not with `causal` or `rope` (NN4033); `k_bias = false` with `qkv = separate` drops the key projection\'s bias alone (HF Whisper\'s `k_proj`), which a fused projection cannot (NN4034)',
    },
  }),
} satisfies KindFamily;
