// Multi-head self-attention over a per-sample sequence [T, D]: PyTorch's `F.scaled_dot_product_attention`
// between q/k/v projections and an output projection.
//
//   q = x Wqᵀ + bq  [T, heads·hd]     k = x Wkᵀ + bk, v = x Wvᵀ + bv  [T, kv_heads·hd]
//   q, k ← rope(q), rope(k)           (optional: GPT-NeoX/Llama "rotate half", pairs (i, i + hd/2),
//                                      angle t · θ^(−2i/hd) at position t)
//   S = q_h k_gᵀ / √hd                (query head h reads kv head g = ⌊h / (heads / kv_heads)⌋)
//   P = softmax(S) along keys         (causal: position i sees keys j ≤ i; the row maximum is subtracted)
//   A = P ⊙ M                         (training with dropout > 0 only: M is 0 or 1/(1 − p), drawn from the
//                                      module's generator in the order sample, head, query, key)
//   o_h = A v_g,  y = concat_h(o_h) Woᵀ + bo
//
// Layouts, per sample: q, the head outputs and their gradients are [T, heads·hd] (head h of position t at
// t·heads·hd + h·hd, the concatenation the output projection reads); k and v are [T, kv_heads·hd]; P and M
// are [heads, T, T]. The fused projection `qkv_proj` holds the q rows, then the k rows, then the v rows;
// stored [in, out] (`layout = in_out`, HF GPT-2's Conv1D `c_attn`), the q columns, then the k and v columns,
// and every projection runs on the [in, out] matrix kernels (`denseInOutForward`, dense.ts), or on the
// WebAssembly target on the dense SIMD kernels by transposition (wasm/target.ts inOutKernels) — except the
// fused one's column blocks, whose row stride is not their width.
//
// Forward keeps q and k (after rope), v, P, M and the head outputs in scratch arrays for backward, which,
// with dO the gradient of the head outputs:
//   dA = dO vᵀ, dP = dA ⊙ M, dS = P ⊙ (dP − Σⱼ P dP) / √hd, dq = dS k, dk = dSᵀ q, dv = Aᵀ dO,
// rope's rotation transposed on dq and dk, then the projections' gradients as for dense layers.
// The q/k/v and output projections, forward and backward, run over every position of every sample on
// the module's shared register-tiled matrix kernel; the per-head work goes sample by sample.
import { projectionName, projectionTensor, type ProjectionOption } from "../../vocabulary/kinds/attention.js";
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import { lit, resolvedInt } from "../kernel.js";
// UNROLL_HEAD: head widths up to it are unrolled over d (literal offsets, per-query rows in locals); the
// WebAssembly target's hand-over of the per-head products is measured against it (wasm/attention.ts).
import { UNROLL_HEAD, attentionScratch, headsOnWasm } from "../wasm/attention.js";

interface Projection {
  /** Which scratch array it fills: q, k or v. */
  readonly name: "q" | "k" | "v";
  /** Output rows (heads·hd or kv_heads·hd). */
  readonly rows: number;
  /** Offset of its first weight row (first column, stored [in, out]) and bias element in `p` (-1: no bias). */
  readonly W: number;
  readonly B: number;
  /** Stored [in, out] (`layout = in_out`): the row stride of its matrix (the fused matrix's width for a
   *  block of it); 0 when stored [out, in]. */
  readonly ld: number;
  /** The tensor it lives in, for comments. */
  readonly tensor: string;
}

function geometry(c: EmitCtx) {
  const shape = c.inShapes[0]!;
  const T = shape[0]!;
  const D = shape[1]!;
  // Cross-attention (`[x, memory]`): keys and values from the second value, S positions of its own;
  // `[x, keys, values]`: values from the third.
  const cross = c.x.length > 1;
  const kvInput = cross ? 1 : 0;
  const valueInput = c.x.length > 2 ? 2 : kvInput;
  const S = c.inShapes[kvInput]![0]!;
  // The keys' and values' widths (kdim, vdim; resolved by the shape rule, D unless given).
  const kdim = resolvedInt(c.op, "kdim");
  const vdim = resolvedInt(c.op, "vdim");
  const splitWidths = kdim !== D || vdim !== D;
  const H = c.args.int("heads");
  // Resolved by the shape rule (src/vocabulary/kinds/attention.ts): kv_heads defaults to heads, head_dim to D / heads.
  const KV = resolvedInt(c.op, "kv_heads");
  const hd = resolvedInt(c.op, "head_dim");
  const Q = H * hd;
  const K = KV * hd;
  const fused = c.args.name("qkv") !== "separate";
  const projections: Projection[] = [];
  // The projections' tensors under the names their options give (src/vocabulary/kinds/attention.ts).
  const named = (option: ProjectionOption) => projectionName(option, fused, c.args);
  const weight = (option: ProjectionOption) => c.param(projectionTensor(named(option), "weight"));
  const bias = (option: ProjectionOption) => {
    const t = projectionTensor(named(option), "bias");
    return c.hasParam(t) ? c.param(t) : -1;
  };
  // `layout = in_out` (HF Conv1D): every matrix stored [in, out]; a fused one holds q, k and v as column
  // blocks instead of row blocks.
  const transposed = (option: ProjectionOption) => c.transposedParam(projectionTensor(named(option), "weight"));
  if (fused && !splitWidths) {
    const fusedName = c.args.string("qkv_proj");
    const W = weight("qkv_proj");
    const B = bias("qkv_proj");
    const at = (first: number) => (B >= 0 ? B + first : -1);
    if (transposed("qkv_proj")) {
      const ld = Q + 2 * K;
      const cols = (a: number, b: number) => `${fusedName} columns ${a}…${b}`;
      projections.push(
        { name: "q", rows: Q, W, B: at(0), ld, tensor: cols(0, Q - 1) },
        { name: "k", rows: K, W: W + Q, B: at(Q), ld, tensor: cols(Q, Q + K - 1) },
        { name: "v", rows: K, W: W + Q + K, B: at(Q + K), ld, tensor: cols(Q + K, Q + 2 * K - 1) },
      );
    } else {
      projections.push(
        { name: "q", rows: Q, W, B: at(0), ld: 0, tensor: `${fusedName} rows 0…${Q - 1}` },
        { name: "k", rows: K, W: W + Q * D, B: at(Q), ld: 0, tensor: `${fusedName} rows ${Q}…${Q + K - 1}` },
        {
          name: "v",
          rows: K,
          W: W + (Q + K) * D,
          B: at(Q + K),
          ld: 0,
          tensor: `${fusedName} rows ${Q + K}…${Q + 2 * K - 1}`,
        },
      );
    }
  } else {
    // Separate projections, or (keys or values of another width) three weights with the fused bias.
    const fusedBias = fused ? bias("qkv_proj") : -1;
    for (const [name, rows, first] of [
      ["q", Q, 0],
      ["k", K, Q],
      ["v", K, Q + K],
    ] as const) {
      const option = `${name}_proj` as const;
      const ld = transposed(option) ? rows : 0;
      const B = fused ? (fusedBias >= 0 ? fusedBias + first : -1) : bias(option);
      projections.push({ name, rows, W: weight(option), B, ld, tensor: named(option) });
    }
  }
  const dropout = c.args.decimal("dropout");
  const rope = c.args.bool("rope");
  // add_bias_kv: bias_k and bias_v are one more key and value; each sample keeps SK = S + 1 key rows.
  const biasKv = c.args.bool("add_bias_kv");
  const SK = S + (biasKv ? 1 : 0);
  return {
    T,
    S,
    SK,
    biasKv,
    BK: biasKv ? c.param("bias_k") : -1,
    BV: biasKv ? c.param("bias_v") : -1,
    cross,
    kvInput,
    valueInput,
    /** The input width of each projection: D, kdim, vdim. */
    widths: { q: D, k: kdim, v: vdim } as const,
    D,
    H,
    KV,
    hd,
    /** Query heads per kv head. */
    group: H / KV,
    Q,
    K,
    fused,
    causal: c.args.bool("causal"),
    rope,
    theta: c.args.decimal("rope_theta"),
    dropout,
    projections,
    outName: c.args.string("out_proj"),
    fusedName: c.args.string("qkv_proj"),
    splitWidths,
    separateNames: (["q_proj", "k_proj", "v_proj"] as const).every((h) => named(h) === h)
      ? "q/k/v_proj"
      : (["q_proj", "k_proj", "v_proj"] as const).map(named).join(", "),
    WO: weight("out_proj"),
    BO: bias("out_proj"),
    /** The fused projection stored [in, out] ([D, Q + 2·K]: q, k, v as column blocks), all three read x. */
    fusedInOut: fused && !splitWidths && transposed("qkv_proj") && kvInput === 0 && valueInput === 0,
    /** The output projection stored [in, out] ([heads·hd, D]). */
    outInOut: transposed("out_proj"),
    q: c.scratch("q", T * Q),
    k: c.scratch("k", SK * K),
    v: c.scratch("v", SK * K),
    probs: c.scratch("probs", H * T * SK),
    mask: dropout > 0 ? c.scratch("mask", H * T * SK) : "",
    heads: c.scratch("heads", T * Q),
    // Rotary cos / sin per position and pair: one table (the first T·hd/2 elements), not one per sample.
    cos: rope ? c.scratch("rope_cos", (T * hd) / 2) : "",
    sin: rope ? c.scratch("rope_sin", (T * hd) / 2) : "",
  };
}

type Geometry = ReturnType<typeof geometry>;

function describe(c: EmitCtx, g: Geometry): string {
  const parts = [
    `${g.H} heads of ${g.hd}`,
    g.KV !== g.H ? `${g.KV} kv heads (grouped-query, ${g.group} query heads each)` : "",
    g.causal ? "causal" : "not causal",
    g.fused && !g.splitWidths
      ? `fused ${g.fusedName}`
      : g.fused
        ? `separate ${g.separateNames} (kdim ${g.widths.k}, vdim ${g.widths.v}) with the fused bias of ${g.fusedName}`
        : `separate ${g.separateNames}`,
    g.projections[0]!.B >= 0 ? "projection bias" : "no projection bias",
    g.BO >= 0 ? "out bias" : "no out bias",
    g.projections[0]!.ld > 0 || g.outInOut ? "matrices stored [in, out]" : "",
    g.rope ? `rope θ = ${lit(g.theta)}` : "",
    g.dropout > 0 ? `attention dropout ${lit(g.dropout)} in training` : "",
    g.biasKv ? "bias_k and bias_v one more key and value (add_bias_kv)" : "",
  ].filter(Boolean);
  const over = g.cross
    ? `cross-attention from ${g.T} positions × ${g.D} to a memory of ${g.S}`
    : `attention over ${g.T} positions × ${g.D}`;
  return `${c.op.name}: ${over}: ${parts.join(", ")}`;
}

/** On the WebAssembly target, a projection with an [out, in] weight (\`IN → OUT\`) takes the dense layers'
 *  SIMD kernels (src/emit/wasm/dense.ts) when the parameters live in their memory: \`call\` with \`#\` for the
 *  kernel index, then \`else\` before the TypeScript call that follows. Empty on the TypeScript target. */
function wasmOr(c: EmitCtx, IN: number, OUT: number, B: number, call: string): string {
  if (!c.wasmDense) return "";
  return `if (arena) ${call.replace("#", String(c.wasmDense(IN, OUT, B >= 0)))};\nelse `;
}

/** A fused [in, out] projection (GPT-2's c_attn) on the WebAssembly target: one product over the whole
 *  matrix, whose row stride is then the product's width as the kernels bake it, its output columns copied
 *  to q, k and v by the staging code (wasm/target.ts denseSplitStaging). \`call\`: a comment line, then the
 *  call; \`ts\`: the TypeScript calls of the three blocks, which become its \`else\`. Unchanged on the TypeScript target or for other projections. */
function wasmFused(c: EmitCtx, g: Geometry, call: (k: number) => string, ts: string): string {
  if (!c.wasmDenseSplit || !g.fusedInOut) return ts;
  const k = c.wasmDenseSplit(g.D, g.Q, g.K, g.projections[0]!.B >= 0);
  const [comment, statement] = call(k).split("\n");
  return `${comment}\nif (arena) ${statement};\nelse {\n${ts}\n}`;
}

/** The same for a weight stored [in, out] with row stride \`ld\` (wasm/target.ts inOutKernels): only a whole
 *  matrix (\`ld\` = OUT). A column block of the fused \`qkv_proj\` (\`ld\` = Q + 2·K) stays on the TypeScript
 *  kernels: the kernels bake one row stride for W and for the rows they write, and dx = dy·Wᵀ (dense.ts's
 *  forward kernel) one for W and for dy. */
function wasmInOutOr(c: EmitCtx, IN: number, OUT: number, ld: number, B: number, call: string): string {
  if (!c.wasmDense || ld !== OUT) return "";
  return `if (arena) ${call.replace("#", String(c.wasmDense(IN, OUT, B >= 0, true, true)))};\nelse `;
}

const range = (k: number) => Array.from({ length: k }, (_, i) => i);
/** \`base + d\` with a literal d. */
const off = (base: string, d: number) => (d === 0 ? base : `${base} + ${d}`);
/** Σ_d a[ai + d]·b[bi + d] as one expression (unrolled head widths). */
const dot = (hd: number, a: string, ai: string, b: string, bi: string) =>
  range(hd)
    .map((d) => `${a}[${off(ai, d)}]! * ${b}[${off(bi, d)}]!`)
    .join(" + ");

/** The kv head's first column for query head `h`, as an expression. */
/** A row of scores (\`row\`, its maximum \`m\`) made the softmax's weights in place: both kernels' code. */
function softmaxRow(g: Geometry, len: string): string {
  return `let sum = 0;
for (let j = 0; j < ${len}; j++) {
  const e = Math.exp(${g.probs}[row + j]! - m);
  ${g.probs}[row + j] = e;
  sum += e;
}
const r = 1 / sum;
for (let j = 0; j < ${len}; j++) ${g.probs}[row + j]! *= r;`;
}

function kvColumn(g: Geometry): string {
  if (g.group === 1) return `h * ${g.hd}`;
  return `Math.floor(h / ${g.group}) * ${g.hd}`;
}

/** How many keys each query sees (\`len\`), and where add_bias_kv's extra key sits: after the call's last
 *  key (\`last\`, "seqLength" when a shorter call's keys are padded, so it is never padded out). */
function keyCount(c: EmitCtx, g: Geometry): { len: string; last: string } {
  // Causal rows see keys up to themselves; otherwise every key of the call's length (\`seqLength\`, below S
  // when a shorter sequence is padded: the padding is masked out).
  const last = c.inSymbolic[g.kvInput] ? "seqLength" : String(g.S);
  if (g.causal) return { len: "i + 1", last };
  if (!g.biasKv) return { len: last, last };
  return { len: last === "seqLength" ? "seqLength + 1" : String(g.S + 1), last };
}

/** add_bias_kv, forward: each sample's S projected keys and values spread to SK = S + 1 rows (last sample
 *  first, so no row is overwritten before it moves), bias_k and bias_v written after the call's last key. */
function spreadBiasKv(c: EmitCtx, g: Geometry, last: string): string {
  const { S, SK, K } = g;
  return `// add_bias_kv: keys and values spread to ${SK} rows a sample; bias_k and bias_v after the last key
for (let b = n - 1; b >= 0; b--) {
  ${g.k}.copyWithin(b * ${SK * K}, b * ${S * K}, (b + 1) * ${S * K});
  ${g.v}.copyWithin(b * ${SK * K}, b * ${S * K}, (b + 1) * ${S * K});
  const at = b * ${SK * K} + ${last} * ${K};
  for (let d = 0; d < ${K}; d++) {
    ${g.k}[at + d] = p[${g.BK} + d]!;
    ${g.v}[at + d] = p[${g.BV} + d]!;
  }
}
`;
}

/** add_bias_kv, backward: the extra key's and value's gradients summed into bias_k's and bias_v's, then each
 *  sample's S key and value gradients gathered back to S rows a sample for the projections. */
function gatherBiasKv(g: Geometry, last: string, dk: string, dv: string): string {
  const { S, SK, K } = g;
  return `// add_bias_kv: d(bias_k) += Σ dk, d(bias_v) += Σ dv at the extra key; the rest back to ${S} rows a sample
for (let b = 0; b < n; b++) {
  const at = b * ${SK * K} + ${last} * ${K};
  for (let d = 0; d < ${K}; d++) {
    gp[${g.BK} + d]! += ${dk}[at + d]!;
    gp[${g.BV} + d]! += ${dv}[at + d]!;
    ${dk}[at + d] = 0;
    ${dv}[at + d] = 0;
  }
  ${dk}.copyWithin(b * ${S * K}, b * ${SK * K}, b * ${SK * K} + ${S * K});
  ${dv}.copyWithin(b * ${S * K}, b * ${SK * K}, b * ${SK * K} + ${S * K});
}
`;
}

/** The dense SIMD kernel index of the per-head products on the WebAssembly target (wasm/attention.ts), or
 *  −1: TypeScript only (the TypeScript target, sizes where the TypeScript loops are faster, or a scratch
 *  past the memory). */
function headsKernel(c: EmitCtx, g: Geometry): number {
  if (!c.wasmAttention || !headsOnWasm(g.hd, g.T, g.SK)) return -1;
  return c.wasmAttention(g.hd, g.T, g.SK) ?? -1;
}

/** Element size and the scratch layout of one head (wasm/attention.ts). */
function headsLayout(c: EmitCtx, g: Geometry) {
  const dtype = c.options.dtype;
  return { elt: dtype === "float32" ? 4 : 8, L: attentionScratch({ headDim: g.hd, queries: g.T, keys: g.SK, dtype }) };
}

/** Causal self-attention's query rows in blocks on the SIMD kernels: the rows \`from\` ≤ i < \`to\` see the keys
 *  j < \`to\` only, so each block's products run on a dense kernel of \`to\` keys (kernel index \`kernel\`) and
 *  skip the masked square above it; its scores lie row-major, \`to\` a row, from element \`at\` of the scores'
 *  (and dP's) place. One block of every key otherwise. The products over the skipped keys were exact zeros
 *  (a masked weight is 0, so its terms are +0 or −0), so the sums are those of the whole square but for the
 *  sign of a zero, and the accumulating products (dv, dk) add the blocks in row order. Two blocks from 2
 *  rows (a quarter of the square skipped), four from 16 (three eighths), each block's kernel reserved as a
 *  head of its own (\`wasmAttention\`); one block when a kernel would not fit the memory. */
interface RowBlock {
  readonly from: number;
  readonly to: number;
  /** The keys its rows see: \`to\`, or every key (SK) for one block. */
  readonly keys: number;
  readonly kernel: number;
  readonly at: number;
}

function rowBlocks(c: EmitCtx, g: Geometry, k: number): RowBlock[] {
  const whole = [{ from: 0, to: g.T, keys: g.SK, kernel: k, at: 0 }];
  if (!g.causal || g.cross || g.biasKv || g.SK !== g.T || g.T < 2 || !c.wasmAttention) return whole;
  const count = g.T >= 16 ? 4 : 2;
  const blocks: RowBlock[] = [];
  let at = 0;
  for (let b = 0; b < count; b++) {
    const from = Math.round((b * g.T) / count);
    const to = Math.round(((b + 1) * g.T) / count);
    const kernel = to === g.T ? k : c.wasmAttention(g.hd, to, to);
    if (kernel === undefined) return whole;
    blocks.push({ from, to, keys: to, kernel, at });
    at += (to - from) * to;
  }
  return blocks;
}

/** Query row i's first score in the scores' place (\`at\`) and its key count (\`keys\`), as expressions. */
function rowPlace(blocks: readonly RowBlock[]): { at: string; keys: string } {
  const term = (b: RowBlock) => {
    const base = b.at - b.from * b.keys;
    return base === 0 ? `i * ${b.keys}` : base > 0 ? `${base} + i * ${b.keys}` : `i * ${b.keys} - ${-base}`;
  };
  const chain = (f: (b: RowBlock) => string) =>
    blocks
      .slice(0, -1)
      .map((b) => `i < ${b.to} ? ${f(b)} : `)
      .join("") + f(blocks.at(-1)!);
  if (blocks.length === 1) return { at: term(blocks[0]!), keys: String(blocks[0]!.keys) };
  return { at: `(${chain(term)})`, keys: "keys" };
}

/** Each block's call of a kernel function: \`call(kernels, b)\` with the block's local and the block. */
function perBlock(blocks: readonly RowBlock[], call: (kernels: string, b: RowBlock) => string): string {
  return blocks.map((b, i) => call(blocks.length === 1 ? "kernels" : `kernels${i}`, b)).join("\n      ");
}

/** The kernels of the blocks, one local each (\`kernels0\`, …), or \`kernels\` for one block. */
function blockKernels(blocks: readonly RowBlock[]): string {
  if (blocks.length === 1) return `const kernels = arena.kernels[${blocks[0]!.kernel}]!;`;
  return blocks.map((b, i) => `const kernels${i} = arena.kernels[${b.kernel}]!;`).join("\n      ");
}

/** The row loop's key count local, for blocks. */
function keysLocal(blocks: readonly RowBlock[], place: { keys: string }): string {
  if (blocks.length === 1) return "";
  const chain = blocks
    .slice(0, -1)
    .map((b) => `i < ${b.to} ? ${b.to} : `)
    .join("");
  return `\n        const ${place.keys} = ${chain}${blocks.at(-1)!.to};`;
}

/** One head of sample b on the SIMD kernels, forward (when the parameters live in their memory): the scores
 *  q_h·k_hᵀ, the softmax (and the dropout mask) here as on the TypeScript path, A·v_h into the head output. */
function headsForward(c: EmitCtx, g: Geometry, k: number, len: string, weight: string, dropoutCode: string): string {
  const { T, SK, hd, Q, K } = g;
  const { elt, L } = headsLayout(c, g);
  const at = (e: number) => (e === 0 ? "SCRATCH_BYTE" : `SCRATCH_BYTE + ${e * elt}`);
  const blocks = rowBlocks(c, g, k);
  const place = rowPlace(blocks);
  const rows = (b: RowBlock) => b.to - b.from;
  return `    if (arena) {
      // on the SIMD kernels (src/emit/wasm/attention.ts): S = q_h·k_hᵀ (${
        blocks.length === 1
          ? "every key"
          : `causal: query rows in ${blocks.length} blocks, each over the keys its rows see, ${blocks.map((b) => `${b.from}…${b.to - 1}`).join(", ")}`
      }), softmax here, o_h = A·v_h
      const heap = arena.heap;
      ${blockKernels(blocks)}
      const z = SCRATCH_BYTE / ${elt};
      wasmGather(heap, ${g.q}, qh, ${Q}, ${T}, ${hd}, z);
      wasmGather(heap, ${g.k}, kh, ${K}, ${SK}, ${hd}, z + ${L.k});
      wasmGather(heap, ${g.v}, kh, ${K}, ${SK}, ${hd}, z + ${L.v});
      ${perBlock(blocks, (kr, b) => `${kr}.forward(${at(L.q + b.from * hd)}, ${at(L.k)}, 0, ${at(L.s + b.at)}, ${rows(b)});`)}
      for (let i = 0; i < ${T}; i++) {
        const row = ((b * ${g.H} + h) * ${T} + i) * ${SK};
        const si = z + ${L.s} + ${place.at};${keysLocal(blocks, place)}
        let m = -Infinity;
        for (let j = 0; j < ${len}; j++) {
          ${g.probs}[row + j] = heap[si + j]! * ${lit(1 / Math.sqrt(hd))};
          m = Math.max(m, ${g.probs}[row + j]!);
        }
        ${softmaxRow(g, len)}${dropoutCode}
        // A (zero past the keys this query sees) for the value product
        for (let j = 0; j < ${len}; j++) heap[si + j] = ${weight};
        heap.fill(0, si + ${len}, si + ${place.keys});
      }
      ${perBlock(blocks, (kr, b) => `${kr}.backwardInput(${at(L.s + b.at)}, ${at(L.v)}, ${at(L.o + b.from * hd)}, ${rows(b)});`)}
      for (let t = 0; t < ${T}; t++) ${g.heads}.set(heap.subarray(z + ${L.o} + t * ${hd}, z + ${L.o + hd} + t * ${hd}), qh + t * ${Q});
      continue;
    }
`;
}

/** One head of sample b on the SIMD kernels, backward: dP = dO_h·v_hᵀ, dS here, dv_h = Aᵀ·dO_h,
 *  dq_h = dS·k_h, dk_h = dSᵀ·q_h, each added into dq, dk, dv. */
function headsBackward(
  c: EmitCtx,
  g: Geometry,
  k: number,
  len: string,
  [dHeads, dq, dk, dv]: readonly [string, string, string, string],
): string {
  const { T, SK, hd, Q, K } = g;
  const { elt, L } = headsLayout(c, g);
  const at = (e: number) => (e === 0 ? "SCRATCH_BYTE" : `SCRATCH_BYTE + ${e * elt}`);
  const dropping = g.dropout > 0;
  const blocks = rowBlocks(c, g, k);
  const place = rowPlace(blocks);
  const rows = (b: RowBlock) => b.to - b.from;
  return `    if (arena) {
      // on the SIMD kernels (src/emit/wasm/attention.ts): dP = dO_h·v_hᵀ, dS here, dv_h = Aᵀ dO_h, dq_h = dS k_h, dk_h = dSᵀ q_h${
        blocks.length === 1
          ? ""
          : `\n      // (causal: query rows in ${blocks.length} blocks, each over the keys its rows see, as in forward)`
      }
      const heap = arena.heap;
      ${blockKernels(blocks)}
      const z = SCRATCH_BYTE / ${elt};
      const qh = b * ${T * Q} + h * ${hd};
      const kh = b * ${SK * K} + kc;
      wasmGather(heap, ${g.q}, qh, ${Q}, ${T}, ${hd}, z);
      wasmGather(heap, ${g.k}, kh, ${K}, ${SK}, ${hd}, z + ${L.k});
      wasmGather(heap, ${g.v}, kh, ${K}, ${SK}, ${hd}, z + ${L.v});
      wasmGather(heap, ${dHeads}, qh, ${Q}, ${T}, ${hd}, z + ${L.dO});
      ${perBlock(blocks, (kr, b) => `${kr}.forward(${at(L.dO + b.from * hd)}, ${at(L.v)}, 0, ${at(L.dp + b.at)}, ${rows(b)});`)}
      for (let i = 0; i < ${T}; i++) {
        const row = ((b * ${g.H} + h) * ${T} + i) * ${SK};
        const si = z + ${L.s} + ${place.at};
        const pi = z + ${L.dp} + ${place.at};${keysLocal(blocks, place)}
        // dP_j${dropping ? " · M_ij" : ""}, A_ij into the scores' place; s = Σ_j P_ij dP_j; then dS_j = P_ij (dP_j − s) / √${hd}
        let s = 0;
        for (let j = 0; j < ${len}; j++) {
          const pr = ${g.probs}[row + j]!;${
            dropping
              ? `
          const mk = training ? ${g.mask}[row + j]! : 1;
          const dp = heap[pi + j]! * mk;
          heap[si + j] = pr * mk;`
              : `
          const dp = heap[pi + j]!;
          heap[si + j] = pr;`
          }
          heap[pi + j] = dp;
          s += pr * dp;
        }
        for (let j = 0; j < ${len}; j++) heap[pi + j] = ${g.probs}[row + j]! * (heap[pi + j]! - s) * ${lit(1 / Math.sqrt(hd))};
        heap.fill(0, si + ${len}, si + ${place.keys});
        heap.fill(0, pi + ${len}, pi + ${place.keys});
      }
      heap.fill(0, z + ${L.dk}, z + ${L.dv + SK * hd});
      ${perBlock(blocks, (kr, b) => `${kr}.backwardWeight(${at(L.s + b.at)}, ${at(L.dO + b.from * hd)}, ${at(L.dv)}, ${rows(b)});`)}
      ${perBlock(blocks, (kr, b) => `${kr}.backwardInput(${at(L.dp + b.at)}, ${at(L.k)}, ${at(L.o + b.from * hd)}, ${rows(b)});`)}
      ${perBlock(blocks, (kr, b) => `${kr}.backwardWeight(${at(L.dp + b.at)}, ${at(L.q + b.from * hd)}, ${at(L.dk)}, ${rows(b)});`)}
      wasmScatterAdd(heap, z + ${L.o}, ${dq}, qh, ${Q}, ${T}, ${hd});
      wasmScatterAdd(heap, z + ${L.dk}, ${dk}, kh, ${K}, ${SK}, ${hd});
      wasmScatterAdd(heap, z + ${L.dv}, ${dv}, kh, ${K}, ${SK}, ${hd});
      continue;
    }
`;
}

export const attention: Kernel = {
  forward(c) {
    const g = geometry(c);
    const { T, D, H, KV, hd, Q, K } = g;
    const { S } = g;
    const y = c.y[0]!;
    const half = hd / 2;
    const scale = lit(1 / Math.sqrt(hd));
    // Causal rows see keys up to themselves; otherwise every key of the call's length (`seqLength`, below S
    // when a shorter sequence is padded: the padding is masked out).
    const { len, last } = keyCount(c, g);
    const keep = 1 - g.dropout;
    const unrolled = hd <= UNROLL_HEAD;
    const width = (name: "q" | "k" | "v") => (name === "q" ? Q : K);

    const project = g.projections
      .map((pr) => {
        const W = width(pr.name);
        // q reads the query; k and v read the memory in cross-attention (v the values given apart).
        const j = pr.name === "q" ? 0 : pr.name === "k" ? g.kvInput : g.valueInput;
        const [src, rows] = [c.x[j]!, j === 0 ? T : S];
        const from = j === 0 ? "x" : c.x.length > 2 ? (j === 1 ? "keys" : "values") : "memory";
        const inW = g.widths[pr.name];
        if (pr.ld > 0) {
          return `// ${pr.name} = ${from} · (${pr.tensor})${pr.B >= 0 ? " + bias" : ""}, every position of every sample
${wasmInOutOr(c, inW, pr.rows, pr.ld, pr.B, `wasmDenseInOutForward(arena, #, ${src}, ${g[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.B})`)}denseInOutForward(p, ${src}, ${g[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.ld}, ${pr.B}, 0, ${W}, 1);`;
        }
        return `// ${pr.name} = ${from} · (${pr.tensor})ᵀ${pr.B >= 0 ? " + bias" : ""}, every position of every sample
${wasmOr(c, inW, pr.rows, pr.B, `wasmDenseForward(arena, #, ${src}, ${g[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.B})`)}denseTiledForward(p, ${src}, ${g[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.B}, 0, ${W}, 1);`;
      })
      .join("\n");

    const rotate = (arr: string, heads: number, width: number) => `  for (let t = 0; t < ${T}; t++) {
    for (let h = 0; h < ${heads}; h++) {
      const base = b * ${T * width} + t * ${width} + h * ${hd};
      for (let i = 0; i < ${half}; i++) {
        const cs = ${g.cos}[t * ${half} + i]!;
        const sn = ${g.sin}[t * ${half} + i]!;
        const a = ${arr}[base + i]!;
        const e = ${arr}[base + i + ${half}]!;
        ${arr}[base + i] = a * cs - e * sn;
        ${arr}[base + i + ${half}] = e * cs + a * sn;
      }
    }
  }`;

    const ropeTable = g.rope
      ? `// rotary angles: position t, pair i: t · θ^(−2i/${hd}) (one table for the whole batch)
for (let t = 0; t < ${T}; t++) {
  for (let i = 0; i < ${half}; i++) {
    const angle = t / Math.pow(${lit(g.theta)}, (2 * i) / ${hd});
    ${g.cos}[t * ${half} + i] = Math.cos(angle);
    ${g.sin}[t * ${half} + i] = Math.sin(angle);
  }
}
`
      : "";

    const dropoutCode =
      g.dropout > 0
        ? `
      // attention dropout (training only): the mask, 0 or 1/(1 − p), is kept for backward
      if (training) {
        for (let j = 0; j < ${len}; j++) ${g.mask}[row + j] = ${keep <= 0 ? "0" : `random() < ${lit(keep)} ? ${lit(1 / keep)} : 0`};
      }`
        : "";
    const heads = headsKernel(c, g);
    const weight =
      g.dropout > 0
        ? `training ? ${g.probs}[row + j]! * ${g.mask}[row + j]! : ${g.probs}[row + j]!`
        : `${g.probs}[row + j]!`;

    return `// ${describe(c, g)}
${ropeTable}// projections on the shared matrix kernel
${wasmFused(c, g, (k) => `// q, k, v = x · ${g.fusedName} + bias: one product on the SIMD kernels, its column blocks copied out\nwasmDenseInOutForward3(arena, ${k}, ${c.x[0]!}, ${g.q}, ${g.k}, ${g.v}, n * ${T}, ${D}, ${Q}, ${K}, ${g.projections[0]!.W}, ${g.projections[0]!.B})`, project)}
${g.biasKv ? spreadBiasKv(c, g, last) : ""}for (let b = 0; b < n; b++) {
${
  g.rope
    ? `  // rotary position embedding of q (${H} heads) and k (${KV} kv heads): (a, e) → (a·cos − e·sin, e·cos + a·sin)
${rotate(g.q, H, Q)}
${rotate(g.k, KV, K)}
`
    : ""
}  // per head: scores, softmax over keys${g.causal ? " j ≤ i" : ""}, weighted sum of v
  for (let h = 0; h < ${H}; h++) {
    const qh = b * ${T * Q} + h * ${hd};
    const kh = b * ${g.SK * K} + ${kvColumn(g)};
${heads >= 0 ? headsForward(c, g, heads, len, weight, dropoutCode) : ""}    for (let i = 0; i < ${T}; i++) {
      const qi = qh + i * ${Q};
      const row = ((b * ${H} + h) * ${T} + i) * ${g.SK};
      let m = -Infinity;
      for (let j = 0; j < ${len}; j++) {
        const kj = kh + j * ${K};
        ${
          unrolled
            ? `const s = ${dot(hd, g.q, "qi", g.k, "kj")};`
            : `let s = 0;
        for (let d = 0; d < ${hd}; d++) s += ${g.q}[qi + d]! * ${g.k}[kj + d]!;`
        }
        ${g.probs}[row + j] = s * ${scale};
        m = Math.max(m, ${g.probs}[row + j]!);
      }
      ${softmaxRow(g, len)}${dropoutCode}
      const oi = qi; // the head output has q's layout
${
  unrolled
    ? `      ${range(hd)
        .map((d) => `let o${d} = 0;`)
        .join(" ")}
      for (let j = 0; j < ${len}; j++) {
        const a = ${weight};
        if (a === 0) continue;
        const vj = kh + j * ${K};
        ${range(hd)
          .map((d) => `o${d} += a * ${g.v}[${off("vj", d)}]!;`)
          .join(" ")}
      }
      ${range(hd)
        .map((d) => `${g.heads}[${off("oi", d)}] = o${d};`)
        .join(" ")}`
    : `      for (let d = 0; d < ${hd}; d++) ${g.heads}[oi + d] = 0;
      for (let j = 0; j < ${len}; j++) {
        const a = ${weight};
        if (a === 0) continue;
        const vj = kh + j * ${K};
        for (let d = 0; d < ${hd}; d++) ${g.heads}[oi + d]! += a * ${g.v}[vj + d]!;
      }`
}
    }
  }
}
${
  g.outInOut
    ? `// output projection: y = heads · ${g.outName}${g.BO >= 0 ? " + bias" : ""} (stored [in, out])
${wasmInOutOr(c, Q, D, D, g.BO, `wasmDenseInOutForward(arena, #, ${g.heads}, ${y}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${g.BO})`)}denseInOutForward(p, ${g.heads}, ${y}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${D}, ${g.BO}, 0, ${D}, 1);`
    : `// output projection: y = heads · ${g.outName}ᵀ${g.BO >= 0 ? " + bias" : ""}
${wasmOr(c, Q, D, g.BO, `wasmDenseForward(arena, #, ${g.heads}, ${y}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${g.BO})`)}denseTiledForward(p, ${g.heads}, ${y}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${g.BO}, 0, ${D}, 1);`
}`;
  },

  backward(c) {
    const g = geometry(c);
    const { T, D, H, KV, hd, Q, K } = g;
    const { S } = g;
    const gy = c.gy[0]!;
    const half = hd / 2;
    const scale = lit(1 / Math.sqrt(hd));
    // Causal rows see keys up to themselves; otherwise every key of the call's length (`seqLength`, below S
    // when a shorter sequence is padded: the padding is masked out).
    const { len, last } = keyCount(c, g);
    // Gradients of the head outputs, q, k and v for the whole batch; one row of dP per query.
    const dHeads = c.scratch("d_heads", T * Q);
    const dq = c.scratch("d_q", T * Q);
    const dk = c.scratch("d_k", g.SK * K);
    const dv = c.scratch("d_v", g.SK * K);
    const dRow = c.scratch("d_row", g.SK);
    const grads: Record<"q" | "k" | "v", string> = { q: dq, k: dk, v: dv };
    const width = (name: "q" | "k" | "v") => (name === "q" ? Q : K);

    const unrotate = (arr: string, heads: number, w: number) => `  for (let t = 0; t < ${T}; t++) {
    for (let h = 0; h < ${heads}; h++) {
      const base = b * ${T * w} + t * ${w} + h * ${hd};
      for (let i = 0; i < ${half}; i++) {
        const cs = ${g.cos}[t * ${half} + i]!;
        const sn = ${g.sin}[t * ${half} + i]!;
        const a = ${arr}[base + i]!;
        const e = ${arr}[base + i + ${half}]!;
        ${arr}[base + i] = a * cs + e * sn;
        ${arr}[base + i + ${half}] = e * cs - a * sn;
      }
    }
  }`;

    const projectBack = g.projections
      .map((pr) => {
        const W = width(pr.name);
        // q reads the query; k and v read the memory in cross-attention (its gradient is the memory's).
        const j = pr.name === "q" ? 0 : pr.name === "k" ? g.kvInput : g.valueInput;
        const [x, gx, rows] = [c.x[j]!, c.gx[j]!, j === 0 ? T : S];
        const from = j === 0 ? "x" : c.x.length > 2 ? (j === 1 ? "keys" : "values") : "memory";
        const dx = `d${from}`;
        const inW = g.widths[pr.name];
        if (pr.ld > 0) {
          return `// ${pr.name}: d(${pr.tensor}) += ${from}ᵀ d${pr.name}${pr.B >= 0 ? ", d(bias) += d" + pr.name : ""}, ${dx} += d${pr.name} · (${pr.tensor})ᵀ
${wasmInOutOr(c, inW, pr.rows, pr.ld, pr.B, `wasmDenseInOutBackward(arena, #, ${x}, ${gx}, ${grads[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.B}, ${c.gxWanted[j]})`)}denseInOutBackward(p, gp, ${x}, ${gx}, ${grads[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.ld}, ${pr.B}, ${c.gxWanted[j]}, 0, ${W}, 1);`;
        }
        return `// ${pr.name}: d(${pr.tensor}) += d${pr.name}ᵀ ${from}${pr.B >= 0 ? ", d(bias) += d" + pr.name : ""}, ${dx} += d${pr.name} · (${pr.tensor})
${wasmOr(c, inW, pr.rows, pr.B, `wasmDenseBackward(arena, #, ${x}, ${gx}, ${grads[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.B}, ${c.gxWanted[j]})`)}denseTiledBackward(p, gp, ${x}, ${gx}, ${grads[pr.name]}, n * ${rows}, ${inW}, ${pr.rows}, ${pr.W}, ${pr.B}, ${c.gxWanted[j]}, 0, ${W}, 1);`;
      })
      .join("\n");

    const dropping = g.dropout > 0;
    const unrolled = hd <= UNROLL_HEAD;
    const heads = headsKernel(c, g);
    return `// ${describe(c, g)}, backward
${dHeads}.fill(0, 0, n * ${T * Q});
${dq}.fill(0, 0, n * ${T * Q});
${dk}.fill(0, 0, n * ${g.SK * K});
${dv}.fill(0, 0, n * ${g.SK * K});
${
  g.outInOut
    ? `// output projection (stored [in, out]): d(${g.outName}) += headsᵀ dy,${g.BO >= 0 ? " d(bias) += dy," : ""} d(heads) = dy · ${g.outName}ᵀ
${wasmInOutOr(c, Q, D, D, g.BO, `wasmDenseInOutBackward(arena, #, ${g.heads}, ${dHeads}, ${gy}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${g.BO}, true)`)}denseInOutBackward(p, gp, ${g.heads}, ${dHeads}, ${gy}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${D}, ${g.BO}, true, 0, ${D}, 1);`
    : `// output projection: d(${g.outName}) += dyᵀ heads,${g.BO >= 0 ? " d(bias) += dy," : ""} d(heads) = dy · ${g.outName}
${wasmOr(c, Q, D, g.BO, `wasmDenseBackward(arena, #, ${g.heads}, ${dHeads}, ${gy}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${g.BO}, true)`)}denseTiledBackward(p, gp, ${g.heads}, ${dHeads}, ${gy}, n * ${T}, ${Q}, ${D}, ${g.WO}, ${g.BO}, true, 0, ${D}, 1);`
}
for (let b = 0; b < n; b++) {
  // per head: through the weighted sum${dropping ? ", the dropout mask" : ""} and the softmax to q, k and v
  for (let h = 0; h < ${H}; h++) {
    const kc = ${kvColumn(g)};
${heads >= 0 ? headsBackward(c, g, heads, len, [dHeads, dq, dk, dv]) : ""}    for (let i = 0; i < ${T}; i++) {
      const oi = b * ${T * Q} + i * ${Q} + h * ${hd};
      const row = ((b * ${H} + h) * ${T} + i) * ${g.SK};
      // dP_j = dO_i · v_j${dropping ? " · M_ij" : ""}, dv_j += A_ij dO_i; s = Σ_j P_ij dP_j
      let s = 0;${
        unrolled
          ? `
      ${range(hd)
        .map((d) => `const h${d} = ${dHeads}[${off("oi", d)}]!;`)
        .join(" ")}`
          : ""
      }
      for (let j = 0; j < ${len}; j++) {
        const vj = b * ${g.SK * K} + j * ${K} + kc;
        ${
          unrolled
            ? `${dropping ? "let" : "const"} dp = ${range(hd)
                .map((d) => `h${d} * ${g.v}[${off("vj", d)}]!`)
                .join(" + ")};`
            : `let dp = 0;
        for (let d = 0; d < ${hd}; d++) dp += ${dHeads}[oi + d]! * ${g.v}[vj + d]!;`
        }
        const pr = ${g.probs}[row + j]!;${
          dropping
            ? `
        const mk = training ? ${g.mask}[row + j]! : 1;
        dp *= mk;
        const a = pr * mk;`
            : `
        const a = pr;`
        }
        ${dRow}[j] = dp;
        s += pr * dp;
        if (a === 0) continue;
        ${
          unrolled
            ? range(hd)
                .map((d) => `${dv}[${off("vj", d)}]! += a * h${d};`)
                .join(" ")
            : `for (let d = 0; d < ${hd}; d++) ${dv}[vj + d]! += a * ${dHeads}[oi + d]!;`
        }
      }
      // dS_j = P_ij (dP_j − s) / √${hd}; dq_i += dS_j k_j, dk_j += dS_j q_i
      const qi = oi;${
        unrolled
          ? `
      ${range(hd)
        .map((d) => `const q${d} = ${g.q}[${off("qi", d)}]!;`)
        .join(" ")}
      ${range(hd)
        .map((d) => `let e${d} = 0;`)
        .join(" ")}`
          : ""
      }
      for (let j = 0; j < ${len}; j++) {
        const ds = ${g.probs}[row + j]! * (${dRow}[j]! - s) * ${scale};
        if (ds === 0) continue;
        const kj = b * ${g.SK * K} + j * ${K} + kc;
        ${
          unrolled
            ? `${range(hd)
                .map((d) => `e${d} += ds * ${g.k}[${off("kj", d)}]!;`)
                .join(" ")}
        ${range(hd)
          .map((d) => `${dk}[${off("kj", d)}]! += ds * q${d};`)
          .join(" ")}`
            : `for (let d = 0; d < ${hd}; d++) {
          ${dq}[oi + d]! += ds * ${g.k}[kj + d]!;
          ${dk}[kj + d]! += ds * ${g.q}[qi + d]!;
        }`
        }
      }${
        unrolled
          ? `
      ${range(hd)
        .map((d) => `${dq}[${off("oi", d)}]! += e${d};`)
        .join(" ")}`
          : ""
      }
    }
  }
${
  g.rope
    ? `  // rotary embedding backward: the transposed rotation, (a, e) → (a·cos + e·sin, e·cos − a·sin)
${unrotate(dq, H, Q)}
${unrotate(dk, KV, K)}
`
    : ""
}}
${g.biasKv ? gatherBiasKv(g, last, dk, dv) : ""}// projections backward on the shared matrix kernel
${wasmFused(c, g, (k) => `// d(${g.fusedName}) += xᵀ [dq | dk | dv], d(bias) += [dq | dk | dv], dx += [dq | dk | dv] · ${g.fusedName}ᵀ: one product on the SIMD kernels\nwasmDenseInOutBackward3(arena, ${k}, ${c.x[0]!}, ${c.gx[0]!}, ${dq}, ${dk}, ${dv}, n * ${T}, ${D}, ${Q}, ${K}, ${g.projections[0]!.W}, ${g.projections[0]!.B}, ${c.gxWanted[0]})`, projectBack)}`;
  },
};

export const attentionKernels = { attention } satisfies KernelFamily;
