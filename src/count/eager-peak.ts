// PyTorch eager's inference peak (`nnc count --batch N`): what eager PyTorch holds at the highest point of
// one forward pass in fp32, eval mode, under `torch.no_grad()`, on the CPU — parameters and buffers, plus
// the largest set of tensors alive at once. The convention (measured by scripts/torch-saved-tensors.py,
// test/fixtures/torch-saved-tensors.json `peak`):
//
// - the model's inputs are held by the caller for the whole pass;
// - every value is freed as soon as its last reader has run (a chain of modules, nn.Sequential, or a
//   forward that `del`s a named value after its last use), except the model's outputs; a view (flatten,
//   reshape of a contiguous tensor, take, split, transpose, identity, eval-mode dropout) shares its base's
//   storage and keeps it alive;
// - while an op runs, its inputs, its output and its own temporaries are alive (LayerNorm's mean and
//   reciprocal std, softsign's 1 + |x|, …: `eagerTemporaries`, each measured).
//
// The figure is what c10's CPU allocator holds, one thread. Convolutions follow PyTorch 1.13's own dispatch
// (`nativeConv`): on ATen's kernels they are replayed; on oneDNN (ideep's blocked copies, padded to the
// CPU's channel block, and the implementation's buffers) they are named "conv2d (oneDNN)", not estimated,
// as are kinds whose temporaries are not measured (a GRU with the reset before the product, which PyTorch
// lacks; add_bias_kv). `onednn = false` replays the dispatch with oneDNN disabled (torch.backends.mkldnn.
// enabled = False: every convolution on ATen's kernels), the figure memory.ts reports, labelled so, for a
// model with convolutions on oneDNN. scripts/eager-heap-peak.py measures what lies outside c10. Computed per distinct subtree (memoized per origin and per which of
// its inputs stay alive outside), so the cost follows the spec's text: a repeated element's copies run one
// after another, each reading the previous one's output.
import { type IrOp, type IrValue, type LayerNode, type ModelAnalysis } from "../analyze/analyze.js";
import { sharedOrigin } from "../analyze/shared.js";
import { reader } from "./op-args.js";

const f32 = 4n;

const elementsOf = (shape: readonly bigint[]): bigint => shape.reduce((a, b) => a * b, 1n);

/** Bytes of one sample of a value in PyTorch: token ids are int64, floats fp32. */
function sampleBytes(v: IrValue): bigint {
  return elementsOf(v.shape) * (v.dtype === "token" ? 8n : f32);
}

/** What an op does to memory while it runs, at batch `batch`: its output is a view of its first input (no
 *  allocation), or it allocates, and at its highest holds `above` bytes more than before it ran (its
 *  outputs and the temporaries alive with them). */
type OpMemory =
  | { readonly view: true }
  | {
      readonly view: false;
      readonly above: bigint;
      /** What its output's storage holds once it has run, when more than the output (a view of a bigger
       *  tensor: `h_n[-1]` keeps the whole h_n). */
      readonly keeps?: bigint;
    };

/** Ops whose outputs are views of their input in PyTorch eval mode: no allocation, the base kept alive. */
const viewKinds: ReadonlySet<string> = new Set([
  "flatten",
  "reshape",
  "identity",
  "take",
  "split",
  "transpose",
  "dropout",
  "drop_path",
]);

/** The 8-byte wrapped Python number and its 4-byte float copy that `tensor + 1`, `mean` and
 *  `adaptive_avg_pool2d(1)` allocate on the way (measured; whatever the batch). */
const scalar = 12n;

const max = (...xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a));

/** How an op uses memory while it runs in eval mode under no_grad on the CPU, as measured
 *  (scripts/torch-saved-tensors.py `peak`); undefined for kinds not measured. */
export function eagerTemporaries(
  op: IrOp,
  values: readonly IrValue[],
  batch: bigint,
  /** The input is a recurrent layer's batch-first view of its time-major output. */
  inputTimeMajor = false,
  /** PyTorch's default dispatch (oneDNN enabled); false: torch.backends.mkldnn.enabled = False, every
   *  convolution on ATen's own kernels (`eagerConvKernel`). */
  onednn = true,
): OpMemory | undefined {
  if (viewKinds.has(op.kind)) return { view: true };
  const inShape = values[op.inputs[0]!]!.shape;
  const S = elementsOf(inShape) * batch * f32;
  const out = op.outputs.reduce((a, v) => a + sampleBytes(values[v]!) * batch, 0n);
  const rows = S / inShape[inShape.length - 1]!;
  const a = reader(op);
  const made = (temporaries: bigint): OpMemory => ({ view: false, above: out + temporaries });
  switch (op.kind) {
    // The output alone: Linear (addmm), elementwise ops (broadcasting too) and activations, embedding lookups, concatenation
    // (class_token's cat of its expanded token), positional's add of a slice, PReLU, pixel_shuffle's copy,
    // average pooling, 1-d max pooling (no indices without grad).
    case "dense":
    case "add":
    case "sub":
    case "mul":
    case "abs":
    case "relu":
    case "sigmoid":
    case "tanh":
    case "gelu":
    case "silu":
    case "softmax":
    case "log_softmax":
    case "leaky_relu":
    case "elu":
    case "selu":
    case "softplus":
    case "mish":
    case "hard_sigmoid":
    case "relu6":
    case "hardswish":
    case "prelu":
    case "embedding":
    case "concat":
    case "class_token":
    case "positional":
    case "pixel_shuffle":
    case "max_pool1d":
    case "avg_pool1d":
    case "avg_pool2d":
    case "avg_pool3d":
    case "adaptive_avg_pool1d":
    case "adaptive_avg_pool2d":
    case "adaptive_avg_pool3d":
      return made(0n);
    // upsample's index and weight tables, per output position of each spatial axis, whatever the batch:
    // nearest an int64 index and a float (12 bytes), bilinear two int64 indices and two float weights (24).
    case "upsample": {
      const spatial = values[op.outputs[0]!]!.shape.slice(1).reduce((x, y) => x + y, 0n);
      return made(spatial * (a.name("mode") === "bilinear" ? 24n : 12n));
    }
    // A reduction over an axis: the output and the scalar divisor.
    case "mean":
    case "global_avg_pool":
      return made(scalar);
    // x / (1 + |x|): |x| and the scalar alive while 1 + |x| is made, which is alive with the quotient.
    case "softsign":
      return made(S + scalar);
    // native_layer_norm's mean and reciprocal std per row; native_group_norm's per group; eval-mode
    // batch_norm's scale and shift per channel (whatever the batch).
    case "layernorm":
      return made(2n * rows);
    case "groupnorm":
      return made(2n * a.int("groups") * batch * f32);
    case "batchnorm":
      return made(2n * inShape[0]! * f32);
    // batch_norm over [1, N·C, …]: a mean and a reciprocal std per channel and sample, twice (the
    // statistics it computes and the ones it returns), and with affine the weight and bias repeated per sample.
    case "instancenorm":
      return made((a.bool("affine") ? 6n : 4n) * inShape[0]! * batch * f32);
    // max_pool2d and max_pool3d without grad still make int64 indices, one per output element.
    case "max_pool2d":
    case "max_pool3d":
      return made(2n * out);
    // HF LlamaRMSNorm: x², its mean (with the scalar), mean + eps, its rsqrt, x̂ = x · rsqrt, weight · x̂;
    // the mean is a local alive until the forward returns.
    case "rmsnorm": {
      const steps = [S + rows + scalar, S + 2n * rows];
      return { view: false, above: a.bool("affine") ? max(...steps, 2n * S + rows) : max(...steps) };
    }
    // slow_conv_transpose2d (PyTorch 1.13 sends transposed convolutions to it, never to oneDNN; 1-d ones
    // through 2-d), per group: the input's channels of the group made contiguous (batch > 1), its output,
    // the columns of one sample (out / groups · the kernel's positions × the input's positions, zeroed
    // once, reused sample by sample), with a bias a ones vector per output position; the columns and the
    // copy freed; more than one group: the groups' outputs concatenated (then freed).
    case "conv_transpose1d":
    case "conv_transpose2d": {
      const G = a.int("groups");
      const rank = op.kind === "conv_transpose1d" ? 1 : 2;
      const outShape = values[op.outputs[0]!]!.shape;
      const columns = (outShape[0]! / G) * elementsOf(a.ints("kernel", rank)) * elementsOf(inShape.slice(1)) * f32;
      const ones = a.bool("bias") ? elementsOf(outShape.slice(1)) * f32 : 0n;
      const copy = G > 1n && batch > 1n ? S / G : 0n;
      return { view: false, above: G > 1n ? max(out + copy + columns + ones, 2n * out) : out + columns + ones };
    }
    // A bare nn.Parameter read in an expression: the parameter itself, no allocation (its bytes are the
    // parameters'); what reads it broadcasts it.
    case "parameter":
      return { view: false, above: 0n, keeps: 0n };
    case "conv1d":
    case "conv2d":
    case "conv3d": {
      const c = nativeConv(op, values, batch, onednn);
      return c === undefined ? undefined : { view: false, above: c };
    }
    case "attention":
      // add_bias_kv is not measured (the script's eager attention, Hugging Face's, has none).
      return reader(op).bool("add_bias_kv")
        ? undefined
        : { view: false, above: attentionAbove(op, inShape, values[op.inputs[1] ?? op.inputs[0]!]!.shape[0]!, batch) };
    case "rnn":
    case "lstm":
    case "gru":
      if (unmeasuredRecurrent(op) !== undefined) return undefined;
      if (keras(op)) return { view: false, above: kerasAbove(op, inShape, batch) };
      return {
        view: false,
        above: recurrentAbove(op, inShape, batch, inputTimeMajor),
        // One direction's last step is `h_n[-1]`, a view that keeps every layer's h_n.
        ...(!a.bool("sequences") && !a.bool("bidirectional")
          ? { keeps: a.int("layers") * batch * stateWidth(op) * f32 }
          : {}),
      };
    // HF LlamaRotaryEmbedding + apply_rotary_pos_emb on the whole width: cos and sin made from the
    // positions, then x · cos + rotate_half(x) · sin.
    case "rotary": {
      const m = new Replay();
      const [cos, sin] = m.cosSin(batch, inShape[0]!, inShape[1]!);
      m.rope(S);
      m.free(cos + sin);
      return { view: false, above: m.top };
    }
    default:
      return undefined;
  }
}

/**
 * Attention as Hugging Face's eager path writes it (scripts/torch-saved-tensors.py `EagerAttention`;
 * cross-attention, keys and values from the memory's S positions, `EagerCrossAttention`: q on x and k, v
 * on the memory, fused as GPT-2's q_attn and c_attn), replayed allocation by allocation as measured: the
 * projections (one fused tensor, or q, k and v), k and v repeated to every head for grouped heads (the
 * originals freed; with one key-value head repeat_kv is a view and nothing is copied), the
 * scores (matmul copies q, which is a transposed view, and k unless repeated), divided by √head_dim (a
 * float64 scalar and its float copy on the way), plus the causal mask (torch.full then triu, T×T), softmax,
 * eval-mode dropout (nothing), matmul with v (copied unless repeated), the heads made contiguous, and the
 * out-projection, with every local alive until the forward returns. The highest bytes above what was
 * alive before it ran.
 */
function attentionAbove(op: IrOp, inShape: readonly bigint[], S: bigint, batch: bigint): bigint {
  const a = reader(op);
  const T = inShape[0]!;
  const D = inShape[1]!;
  const H = a.int("heads");
  const KV = a.has("kv_heads") ? a.int("kv_heads") : H;
  const hd = a.has("head_dim") ? a.int("head_dim") : D / H;
  // Cross-attention: keys and values from the memory's S positions.
  const cross = op.inputs.length > 1;
  const q = batch * T * H * hd * f32;
  const kv = batch * S * KV * hd * f32;
  // k or v at every head (repeated, or as matmul copies it).
  const kvH = batch * S * H * hd * f32;
  const w = batch * H * T * S * f32;
  const mask = T * T * f32;
  // repeat_kv copies k and v to every head, unless there is one key-value head: then its expand and
  // reshape are a view, and the matmuls copy k and v as without grouping.
  const repeated = KV !== H && KV !== 1n;
  const separate = a.name("qkv") === "separate";
  const m = new Replay();
  if (separate) {
    m.alloc(q);
    m.alloc(kv);
    m.alloc(kv);
  } else if (cross) {
    // GPT-2's cross-attention: q_attn on x, one c_attn on the memory split into k and v.
    m.alloc(q);
    m.alloc(2n * kv);
  } else m.alloc(q + 2n * kv);
  const rope = a.bool("rope");
  if (rope) {
    m.cosSin(batch, T, hd);
    // q, then k, rotated into new tensors; separate projections are freed as they are replaced.
    m.rope(q);
    if (separate) m.free(q);
    m.rope(kv);
    if (separate) m.free(kv);
  }
  if (repeated) {
    m.alloc(kvH); // k repeated to every head
    m.alloc(kvH); // v
    // The k and v replaced: a rotated k, separate projections, cross-attention's k and v tensor.
    m.free(cross ? 2n * kv : (rope ? kv : separate ? kv : 0n) + (separate ? kv : 0n));
  }
  // matmul(q, kᵀ): q is a transposed view (or laid out as one), copied; k too unless repeated.
  m.alloc(q);
  if (!repeated) m.alloc(kvH);
  m.alloc(w);
  m.free(repeated ? q : q + kvH);
  // / √head_dim
  m.alloc(8n);
  m.alloc(4n);
  m.alloc(w);
  m.free(12n + w);
  if (a.bool("causal")) {
    m.alloc(mask);
    m.alloc(mask);
    m.free(mask);
    m.alloc(w);
    m.free(mask + w);
  }
  m.alloc(w); // softmax
  m.free(w);
  // matmul(w, v), then transpose(1, 2).reshape: a contiguous copy
  if (!repeated) m.alloc(kvH);
  m.alloc(q);
  if (!repeated) m.free(kvH);
  m.alloc(q);
  m.free(q);
  m.alloc(batch * T * D * f32); // the out-projection
  return m.top;
}

/** What a convolution itself sees in PyTorch: its spatial sizes and its own padding, after the padded copy
 *  PyTorch makes first, if any — nn.Conv's F.pad for a padding mode other than zeros (by the padding, even
 *  0, or for `same` by dilation·(kernel − 1), the smaller half first; then no padding of its own), or
 *  `_convolution_same`'s constant_pad_nd when `same` pads one more cell at the end of an axis (by that
 *  cell; then the smaller half on both sides). `padded`: the copy's elements per sample. */
function convInput(
  op: IrOp,
  inShape: readonly bigint[],
): { readonly sizes: readonly bigint[]; readonly pads: readonly bigint[]; readonly padded?: bigint } {
  const a = reader(op);
  const rank = inShape.length - 1;
  const k = a.ints("kernel", rank);
  const d = a.ints("dilation", rank);
  const before = (op.attrs?.["padding"] as readonly bigint[] | undefined) ?? [];
  const same = a.name("padding") === "same";
  const after = before.map((b, i) => (same ? d[i]! * (k[i]! - 1n) - b : b));
  const sizes = inShape.slice(1);
  const copy = (grown: bigint[], pads: readonly bigint[]) => ({
    sizes: grown,
    pads,
    padded: inShape[0]! * elementsOf(grown),
  });
  if ((a.name("padding_mode") ?? "zeros") !== "zeros")
    return copy(
      sizes.map((L, i) => L + before[i]! + after[i]!),
      before.map(() => 0n),
    );
  if (after.some((x, i) => x !== before[i]))
    return copy(
      sizes.map((L, i) => L + after[i]! - before[i]!),
      before,
    );
  return { sizes, pads: before };
}

/** The elements per sample of the padded copy PyTorch makes before a convolution, if it makes one
 *  (`convInput`): what the convolution then saves for backward instead of its input. */
export function eagerPaddedInput(op: IrOp, inShape: readonly bigint[]): bigint | undefined {
  return convInput(op, inShape).padded;
}

/** The ATen kernel PyTorch 1.13 runs a convolution on (fp32, CPU, one thread), by ConvParams::use_mkldnn
 *  (see `nativeConv`), and how many times: thnn_conv2d and slow_conv_dilated2d/3d have no groups, so
 *  `_convolution` calls them per group. With oneDNN disabled (`onednn` false:
 *  torch.backends.mkldnn.enabled = False) use_mkldnn is false and `_select_conv_backend` takes, on a CPU
 *  (no depthwise kernel: that is CUDA's; no XNNPACK, Winograd or NNPACK in an x86 build without NNPACK),
 *  slow_conv3d for an undilated 3-d convolution (groups in one call), slow_conv_dilated2d/3d for a dilated
 *  one and thnn_conv2d for the rest (1-d as 2-d). test/fixtures/conv-dispatch.json holds what torch ran on
 *  308 layers, both ways. */
export function eagerConvKernel(
  op: IrOp,
  values: readonly IrValue[],
  batch: bigint,
  onednn = true,
): {
  readonly kernel: "mkldnn_convolution" | "thnn_conv2d" | "slow_conv3d" | "slow_conv_dilated2d" | "slow_conv_dilated3d";
  readonly calls: bigint;
} {
  const a = reader(op);
  const rank = op.kind === "conv1d" ? 1 : op.kind === "conv2d" ? 2 : 3;
  const inShape = values[op.inputs[0]!]!.shape;
  const G = a.int("groups");
  const k = a.ints("kernel", rank);
  const strided = a.ints("stride", rank).some((x) => x !== 1n);
  const dilated = a.ints("dilation", rank).some((x) => x !== 1n);
  // As use_mkldnn sees the input (after any padded copy): a 1-d convolution as 2-d ([N, C, 1, L], a
  // [1, k] kernel); N·C·size(2)·size(3) leaves out a 3-d one's last axis.
  const { sizes } = convInput(op, inShape);
  const k4 = rank === 1 ? [1n, ...k] : k;
  const kw = k4[k4.length - 1]!;
  const kh = k4[k4.length - 2]!;
  const first4 = batch * inShape[0]! * (rank === 1 ? sizes[0]! : sizes[0]! * sizes[1]!);
  const oneDnn =
    onednn &&
    (strided || dilated || batch >= 16n || kw !== 1n || kh !== 1n) &&
    (G > 1n || (kw > 3n && kh > 3n) || batch > 1n || first4 > 20480n);
  if (oneDnn) return { kernel: "mkldnn_convolution", calls: 1n };
  if (dilated) return { kernel: rank === 3 ? "slow_conv_dilated3d" : "slow_conv_dilated2d", calls: G };
  return rank === 3 ? { kernel: "slow_conv3d", calls: 1n } : { kernel: "thnn_conv2d", calls: G };
}

/**
 * A convolution as PyTorch 1.13 runs it (fp32, CPU, one thread, eval mode, no_grad), when it takes one of
 * ATen's own kernels: the bytes above what was alive before it ran, or undefined on the oneDNN path.
 *
 * First the input is padded into a copy when nn.Conv pads it itself (`padding_mode` other than zeros:
 * F.pad by the padding, or by dilation·(kernel − 1) split smaller half first for `same`, then a convolution
 * without padding) or when `padding = same` is odd on an axis (`_convolution_same`: constant_pad_nd by the
 * odd cell at the end, then the smaller half on both sides); the copy is freed once the convolution
 * returns. Then `ConvParams::use_mkldnn` (aten/src/ATen/native/Convolution.cpp; 1-d as 2-d, [N, C, 1, L]
 * and a [1, k] kernel) picks oneDNN when
 *   (strided or dilated or N ≥ 16 or the last two kernel sizes not both 1 or more than one thread) and
 *   (groups > 1 or the last two kernel sizes both above 3 or N > 1 or N·C·size(2)·size(3) > 20480);
 * otherwise ATen's own (`eagerConvKernel`; test/fixtures/conv-dispatch.json holds the kernel torch ran on
 * 308 layers):
 * - dilated (slow_conv_dilated2d/3d, per group): the output, then one sample's columns, C / groups ·
 *   kernel positions × output positions, reused sample by sample (by default the rule leaves only batch 1
 *   with one group here; with oneDNN disabled every batch and groups reach it, grouped as thnn_conv2d);
 * - 2-d (thnn_conv2d → _slow_conv2d_forward): the columns of the whole batch, N × C · kernel positions ×
 *   output positions (none for a 1×1 kernel with stride 1 and no padding), then the output; with groups
 *   (1×1 kernels only reach it), per group the group's input channels made contiguous (N > 1), its
 *   columns and output, then the groups' outputs concatenated (freed after);
 * - 3-d (slow_conv3d, groups in one call): the columns, N × all C · kernel positions × output positions
 *   (none for a 1×1×1 kernel with stride 1, no padding and one group), then the output.
 * On oneDNN, ideep allocates through c10 too, but what it allocates is the CPU's and oneDNN's choice: the
 * input, weight and output reordered to blocked layouts padded to the ISA's channel block (8 on AVX2, 16
 * on AVX-512) and buffers of the implementation oneDNN picks (measured on AVX2: a conv1d 4 → 6 at batch 3
 * reorders its weight into 384 bytes, not 288, its output into 1,728, not 1,296, and takes 160 bytes more
 * with a bias) — so it is named, not estimated.
 */
function nativeConv(op: IrOp, values: readonly IrValue[], batch: bigint, onednn: boolean): bigint | undefined {
  const a = reader(op);
  const rank = op.kind === "conv1d" ? 1 : op.kind === "conv2d" ? 2 : 3;
  const inShape = values[op.inputs[0]!]!.shape;
  const outShape = values[op.outputs[0]!]!.shape;
  const C = inShape[0]!;
  const G = a.int("groups");
  const k = a.ints("kernel", rank);
  const s = a.ints("stride", rank);
  const d = a.ints("dilation", rank);
  // The sizes the convolution itself sees, its own padding, and the padded copy made first.
  const { sizes, pads, padded } = convInput(op, inShape);
  const copy = padded === undefined ? 0n : batch * padded * f32;
  const strided = s.some((x) => x !== 1n);
  const dilated = d.some((x) => x !== 1n);
  if (eagerConvKernel(op, values, batch, onednn).kernel === "mkldnn_convolution") return undefined;
  const out = batch * elementsOf(outShape) * f32;
  const positions = elementsOf(outShape.slice(1));
  const kernel = elementsOf(k);
  // Per group (a kernel without groups): the group's input channels made contiguous (N > 1), its columns
  // and output; then the groups' outputs concatenated.
  const part = G > 1n && batch > 1n ? (batch * C * elementsOf(sizes) * f32) / G : 0n;
  const grouped = (columns: bigint) => (G > 1n ? max(out + part + columns, 2n * out) : out + columns);
  let conv: bigint;
  if (dilated) conv = grouped((C / G) * kernel * positions * f32);
  else {
    const unit = kernel === 1n && !strided && pads.every((p) => p === 0n);
    if (rank === 3) conv = out + (unit && G === 1n ? 0n : batch * C * kernel * positions * f32);
    else conv = grouped(unit ? 0n : batch * (C / G) * kernel * positions * f32);
  }
  return copy + conv;
}

/** The width of a recurrent layer's h: an LSTM's projection, else its hidden size. */
function stateWidth(op: IrOp): bigint {
  const a = reader(op);
  return op.kind === "lstm" && a.int("proj_size") > 0n ? a.int("proj_size") : a.int("hidden");
}

/** Keras's bias convention: the cells written step by step in PyTorch, not nn.RNN / nn.LSTM / nn.GRU. */
const keras = (op: IrOp): boolean => reader(op).name("bias_convention") === "keras";

/**
 * nn.RNN / nn.LSTM / nn.GRU on the CPU (batch_first; the whole output is made even for the last step only),
 * replayed as measured: the
 * zero initial states (and cells), then per layer and direction the time-major copy of layer 0's input,
 * the input projection of every step (the copy freed; the forward direction's projection freed once the
 * reverse one's is made), per step the hidden projection and the gates' results (the highest: RNN 2, GRU
 * 5, LSTM 7 states' worth above the step's start), each step's h kept (and the LSTM's last c), their
 * stack (the directions' cat), the steps' h freed but the last, the projection freed; a layer's input
 * freed once the layer above is done; at the end h_n (and c_n) stacked. An LSTM's projection (`proj_size`)
 * makes each step's h, the initial and final h and the stacks `proj_size` wide; its gates and c stay
 * `hidden` wide, and the step's highest point is still before h is projected (the projection is narrower).
 */
function recurrentAbove(op: IrOp, inShape: readonly bigint[], batch: bigint, inputTimeMajor: boolean): bigint {
  const a = reader(op);
  const T = inShape[0]!;
  const H = a.int("hidden");
  const L = a.int("layers");
  const dirs = a.bool("bidirectional") ? 2n : 1n;
  const lstm = op.kind === "lstm";
  const G = op.kind === "rnn" ? 1n : op.kind === "gru" ? 3n : 4n;
  const perStep = op.kind === "rnn" ? 2n : op.kind === "gru" ? 5n : 7n;
  const s = batch * H * f32;
  // One step's h (an LSTM's projected h).
  const r = batch * stateWidth(op) * f32;
  // The cell (hidden wide) with each h.
  const state = lstm ? r + s : r;
  const P = T * G * s;
  const m = new Replay();
  m.alloc(L * dirs * state);
  let below = 0n;
  for (let l = 0n; l < L; l++) {
    // Layer 0 copies its input time-major, unless it already is (another recurrent layer's output).
    const X = l === 0n && !inputTimeMajor ? batch * T * inShape[1]! * f32 : 0n;
    for (let d = 0n; d < dirs; d++) {
      m.alloc(X);
      m.alloc(P);
      m.free(X);
      if (d === 1n) m.free(P);
      // The last step starts with T − 1 h kept (and the LSTM's c from step 2 on), and ends with T h and its c.
      const start = (T - 1n) * r + (lstm && T > 1n ? s : 0n);
      m.alloc(start + perStep * s);
      m.free(start + perStep * s - T * r - (lstm ? s : 0n));
      m.alloc(T * r); // the stack
    }
    if (dirs === 2n) {
      m.alloc(2n * T * r);
      m.free(2n * T * r + 2n * (T - 1n) * r);
    } else m.free((T - 1n) * r);
    m.free(P);
    m.free(below);
    below = dirs * T * r;
  }
  m.alloc(L * dirs * state); // h_n (and c_n)
  // The last step only: h_n's last layer, a view of it, or both directions' cat (a tensor of its own, made
  // while the whole output is still alive).
  if (!a.bool("sequences") && dirs === 2n) m.alloc(2n * r);
  return m.top;
}

/**
 * Keras's cells stepped in PyTorch (scripts/torch-saved-tensors.py `KerasRecurrent`), replayed as
 * measured: per layer and direction zero initial states, then per step the cell (below), each step's h
 * kept for the stack, the previous c freed; the steps stacked (batch-major), the states freed; both
 * directions' stacks concatenated (the stacks freed); a layer's output freed once the layer above has
 * made its own. The last layer with `sequences = false` keeps its last h (both directions' cat) and no
 * stack. Layer 0 reads its input in place (`x[:, t]`, a view).
 */
function kerasAbove(op: IrOp, inShape: readonly bigint[], batch: bigint): bigint {
  const a = reader(op);
  const T = inShape[0]!;
  const L = a.int("layers");
  const dirs = a.bool("bidirectional") ? 2n : 1n;
  const bias = a.bool("bias");
  const s = batch * a.int("hidden") * f32;
  const m = new Replay();
  let below = 0n;
  for (let l = 0n; l < L; l++) {
    const lastOnly = l === L - 1n && !a.bool("sequences");
    for (let d = 0n; d < dirs; d++) {
      m.alloc(op.kind === "lstm" ? 2n * s : s); // the zero h (and c)
      // The first step and the last: a step between them is the last one with fewer h kept, so lower
      // (the cost stays the text's, whatever the length).
      for (const t of T > 1n ? [0n, T - 1n] : [0n]) {
        if (t > 1n && !lastOnly) m.alloc((t - 1n) * s); // the h of steps 1 … t − 1, kept
        kerasStep(m, op.kind, s, bias);
        // The previous h goes unless kept for the stack (the zero state always); an LSTM's previous c goes.
        if (lastOnly || t === 0n) m.free(s);
        if (op.kind === "lstm") m.free(s);
      }
      if (lastOnly) {
        if (op.kind === "lstm") m.free(s); // the last c; the last h is the direction's result
      } else {
        m.alloc(T * s); // the stack
        m.free((op.kind === "lstm" ? s : 0n) + T * s); // the last c, the steps' h
      }
    }
    const out = (lastOnly ? 1n : T) * s;
    if (dirs === 2n) {
      m.alloc(2n * out); // the directions' cat
      m.free(below + 2n * out);
    } else m.free(below);
    below = dirs * out;
  }
  return m.top;
}

/** One step of a Keras cell in PyTorch (`KerasRecurrent.step`), with `s` bytes per h: its allocations in
 *  order, each expression's temporaries freed when it is done, the cell's locals when it returns; it ends
 *  with its new h (and c) alive. */
function kerasStep(m: Replay, kind: string, s: bigint, bias: boolean): void {
  if (kind === "rnn") {
    m.alloc(s); // z = x·W
    if (bias) m.allocFree(s); // z + b, the old z dropped
    m.alloc(s); // h·U
    m.alloc(s); // z + h·U
    m.free(s);
    m.alloc(s); // act(…): the new h
    m.free(2n * s); // the sum, z
  } else if (kind === "lstm") {
    const g = 4n * s;
    m.alloc(g); // x·W
    m.alloc(g); // h·U
    m.alloc(g); // their sum
    m.free(2n * g);
    if (bias) m.allocFree(g); // z + b
    m.alloc(3n * s); // σ of i, f, o
    m.alloc(s); // f·c
    m.alloc(s); // tanh(c̃)
    m.alloc(s); // i·tanh(c̃)
    m.free(s);
    m.alloc(s); // the new c
    m.free(2n * s);
    m.alloc(s); // tanh(c)
    m.alloc(s); // the new h
    m.free(s + g + 3n * s); // tanh(c); z, i, f, o
  } else {
    const g = 3n * s;
    m.alloc(g); // x·W
    m.alloc(g); // h·U
    if (bias) {
      m.allocFree(g); // x·W + b_in, the product dropped
      m.allocFree(g); // h·U + b_rec
    }
    m.alloc(2n * s); // z = σ(x_z + r_z): the sum, then σ
    m.free(s);
    m.alloc(2n * s); // r, the same
    m.free(s);
    m.alloc(2n * s); // x_h + r·r_h
    m.free(s);
    m.alloc(s); // h̃ = tanh(…)
    m.free(s);
    m.alloc(s); // z·h
    m.alloc(scalar); // 1 − z: the wrapped 1 and its float copy
    m.alloc(s);
    m.free(scalar);
    m.alloc(s); // (1 − z)·h̃
    m.free(s);
    m.alloc(s); // the new h
    m.free(2n * s + 2n * g + 3n * s); // the products; x·W, h·U, z, r, h̃
  }
}

/** Allocations and frees replayed in order, as the profiler records them: the highest running sum. */
class Replay {
  live = 0n;
  top = 0n;
  alloc(bytes: bigint): void {
    this.live += bytes;
    if (this.live > this.top) this.top = this.live;
  }
  free(bytes: bigint): void {
    this.live -= bytes;
  }
  /** A new tensor replacing one of the same size (`z = z + b`): made, then the old one freed. */
  allocFree(bytes: bigint): void {
    this.alloc(bytes);
    this.free(bytes);
  }
  /** HF LlamaRotaryEmbedding's cos and sin, [batch, T, width] each (as measured): the positions
   *  (int64, T), as floats per sample, the frequencies (width / 2 per position), their cat, cos, sin;
   *  all but cos and sin freed. Returns their bytes. */
  cosSin(batch: bigint, T: bigint, width: bigint): [bigint, bigint] {
    const table = batch * T * width * f32;
    const made = [T * 8n, batch * T * f32, (batch * T * width * f32) / 2n, table];
    made.forEach((b) => this.alloc(b));
    this.alloc(table);
    this.alloc(table);
    this.free(made.reduce((x, y) => x + y, 0n));
    return [table, table];
  }
  /** x · cos + rotate_half(x) · sin for an x of `bytes`: x · cos, −x₂ (half), the cat, · sin (the cat
   *  freed), the sum (the products freed). */
  rope(bytes: bigint): void {
    this.alloc(bytes);
    this.alloc(bytes / 2n);
    this.alloc(bytes);
    this.free(bytes / 2n);
    this.alloc(bytes);
    this.free(bytes);
    this.alloc(bytes);
    this.free(2n * bytes);
  }
}

/** How a kind whose temporaries are not estimated is named: a convolution PyTorch runs on oneDNN, attention
 *  with add_bias_kv, recurrent layers by the option that makes it so. */
function unmeasuredName(op: IrOp): string {
  if (op.kind === "conv1d" || op.kind === "conv2d" || op.kind === "conv3d") return `${op.kind} (oneDNN)`;
  if (op.kind === "attention") return "attention (add_bias_kv)";
  return ["rnn", "lstm", "gru"].includes(op.kind) ? `${op.kind} (${unmeasuredRecurrent(op) ?? "?"})` : op.kind;
}

/** What makes a recurrent layer's inference temporaries not replayed (the option as written), if anything:
 *  a GRU with the reset before the product, which PyTorch lacks. */
function unmeasuredRecurrent(op: IrOp): string | undefined {
  if (op.kind === "gru" && !reader(op).bool("reset_after")) return "reset_after = false";
  return undefined;
}

/** Kinds whose output is a transposed view in PyTorch that a Linear may read (a transpose's output has
 *  its sequence axis last, which `dense` refuses); not with Keras's cells, whose stack is batch-major. */
const transposedOut: ReadonlySet<string> = new Set(["rnn", "lstm", "gru"]);

/** A node's steps in execution order, in its own value numbering. */
type Step =
  | { readonly kind: "op"; readonly op: IrOp }
  | {
      readonly kind: "flow";
      readonly op: "add" | "sub" | "mul";
      readonly inputs: readonly number[];
      readonly output: number;
    }
  | { readonly kind: "child"; readonly node: LayerNode };

function stepsOf(model: ModelAnalysis, n: LayerNode): Step[] {
  if (n.children.length === 0 && n.flowOps.length === 0)
    return [...n.ops].sort((a, b) => a - b).map((k) => ({ kind: "op", op: model.ops[k]! }));
  const out: Step[] = [];
  let f = 0;
  const flows = (upTo: number) => {
    for (; f < n.flowOps.length && n.flowOps[f]!.after <= upTo; f++) {
      const o = n.flowOps[f]!;
      out.push({ kind: "flow", op: o.kind, inputs: o.inputs, output: o.output });
    }
  };
  n.children.forEach((c, i) => {
    flows(i);
    out.push({ kind: "child", node: c });
  });
  flows(Infinity);
  return out;
}

/** A child's boundary: the numbers it reads from outside and gives, in the parent's numbering, each with
 *  the number it has inside its origin. */
interface Boundary {
  readonly reads: readonly (readonly [inner: number, outer: number])[];
  readonly gives: readonly (readonly [inner: number, outer: number])[];
}

const readsMemo = new WeakMap<LayerNode, readonly number[]>();

/** The numbers a node's subtree reads from outside it (its input and the outer values it names), in its
 *  own numbering, in order. */
function externalReads(model: ModelAnalysis, n: LayerNode): readonly number[] {
  const known = readsMemo.get(n);
  if (known) return known;
  const consumed: number[] = [];
  const made = new Set<number>();
  const use = (v: number) => {
    if (!made.has(v) && !consumed.includes(v)) consumed.push(v);
  };
  for (const s of stepsOf(model, n)) {
    if (s.kind === "op") {
      s.op.inputs.forEach(use);
      s.op.outputs.forEach((v) => made.add(v));
    } else if (s.kind === "flow") {
      s.inputs.forEach(use);
      made.add(s.output);
    } else {
      for (const [, outer] of boundaryOf(model, s.node).reads) use(outer);
      for (const [, outer] of boundaryOf(model, s.node).gives) made.add(outer);
    }
  }
  for (const v of n.flow?.inputs ?? []) if (!consumed.includes(v)) consumed.unshift(v);
  readsMemo.set(n, consumed);
  return consumed;
}

function boundaryOf(model: ModelAnalysis, c: LayerNode): Boundary {
  const origin = sharedOrigin(c);
  const inner = externalReads(model, origin);
  const gives = origin.flow?.outputs ?? [];
  if (!c.reuse) return { reads: inner.map((v) => [v, v]), gives: gives.map((v) => [v, v]) };
  const map = new Map<number, number>([...c.reuse.inputs, ...c.reuse.outputs]);
  return {
    reads: inner.map((v) => [v, map.get(v) ?? v]),
    gives: gives.map((v) => [v, map.get(v) ?? v]),
  };
}

interface Peak {
  /** The highest bytes alive inside the subtree above what was alive when it started (its inputs
   *  included); undefined when some kind's temporaries are not measured. */
  readonly excess?: bigint;
  readonly unknown: ReadonlySet<string>;
}

/** PyTorch eager's inference peak of a model's activations at a batch: the inputs plus the highest excess. */
export function eagerInferencePeak(
  model: ModelAnalysis,
  batch: bigint,
  /** PyTorch's default dispatch; false: oneDNN disabled (torch.backends.mkldnn.enabled = False), every
   *  convolution on ATen's own kernels, whose allocations do not depend on the CPU. */
  onednn = true,
): {
  readonly bytes?: bigint;
  /** The highest bytes alive during each step of the model's own body (its layers, in order): what the
   *  tests compare with torch layer by layer. */
  readonly steps?: readonly bigint[];
  readonly unknown: readonly string[];
} {
  const memo = new Map<LayerNode, Map<string, Peak>>();
  const bytesOf = (v: number) => sampleBytes(model.values[v]!) * batch;
  /** The op of a single, unrepeated layer (a node with no body): its step runs as that op. */
  const leafOp = (n: LayerNode): IrOp | undefined => {
    const o = sharedOrigin(n);
    return n.count === 1n && o.children.length === 0 && o.flowOps.length === 0 && o.ops.length === 1
      ? model.ops[o.ops[0]!]
      : undefined;
  };

  const peakOf = (node: LayerNode, held: ReadonlySet<number>): Peak => {
    const o = sharedOrigin(node);
    const key = [...held].sort((a, b) => a - b).join(",");
    let byHeld = memo.get(o);
    if (!byHeld) memo.set(o, (byHeld = new Map()));
    const known = byHeld.get(key);
    if (known) return known;
    let result = copyPeak(o, held);
    // A repeated element: copies after the first read the previous copy's output (its first input's
    // place), which no one else holds; the first input stays alive only if held outside.
    const first = o.chained?.[0] ?? o.flow?.inputs[0];
    if (o.count > 1n && o.kind !== "experts" && result.excess !== undefined && first !== undefined) {
      const rest = new Set(held);
      rest.delete(first);
      const later = copyPeak(o, rest);
      if (later.excess === undefined) result = later;
      else {
        const extra = held.has(first) ? bytesOf(first) : 0n;
        const ex = later.excess + extra;
        result = { excess: ex > result.excess ? ex : result.excess, unknown: result.unknown };
      }
    }
    byHeld.set(key, result);
    return result;
  };

  /** One copy of an origin node's subtree, with `held` of its external reads alive outside throughout. */
  const copyPeak = (o: LayerNode, held: ReadonlySet<number>, record?: bigint[]): Peak => {
    const unknown = new Set<string>();
    if (o.kind === "moe") return moePeak(o);
    const steps = stepsOf(model, o);
    const storage = new Map<number, number>();
    const storageOf = (v: number) => storage.get(v) ?? v;
    // Last step reading each value (storage lifetimes follow from it).
    const lastRead = new Map<number, number>();
    const readsOf = (s: Step): readonly number[] =>
      s.kind === "op" ? s.op.inputs : s.kind === "flow" ? s.inputs : boundaryOf(model, s.node).reads.map(([, v]) => v);
    const givesOf = (s: Step): readonly number[] =>
      s.kind === "op"
        ? s.op.outputs
        : s.kind === "flow"
          ? [s.output]
          : boundaryOf(model, s.node).gives.map(([, v]) => v);
    steps.forEach((s, k) => readsOf(s).forEach((v) => lastRead.set(v, k)));
    const keep = new Set<number>([...held, ...(o.flow?.outputs ?? [])]);
    const live = new Map<number, bigint>();
    for (const v of externalReads(model, o)) live.set(v, bytesOf(v));
    const sum = () => [...live.values()].reduce((a, b) => a + b, 0n);
    const entry = sum();
    let top = entry;
    /** Values alive per storage: a storage is freed when the last of them is. */
    const users = new Map<number, Set<number>>();
    const addUser = (s: number, v: number) => {
      let u = users.get(s);
      if (!u) users.set(s, (u = new Set()));
      u.add(v);
    };
    for (const v of live.keys()) addUser(v, v);
    /** Values laid out transposed (a recurrent layer's batch-first view of its time-major output). */
    const strided = new Set<number>();
    /** Whether a value's storage is still needed after step k (by it or by a view sharing it). */
    const aliveAfter = (v: number, k: number) =>
      [...(users.get(storageOf(v)) ?? [v])].some((u) => keep.has(u) || (lastRead.get(u) ?? -1) > k);
    steps.forEach((s, k) => {
      const outs = givesOf(s);
      const before = sum();
      let above = 0n;
      let view = false;
      let keeps: bigint | undefined;
      const leaf = s.kind === "child" ? leafOp(s.node) : s.kind === "op" ? s.op : undefined;
      if (leaf) {
        const m = eagerTemporaries(leaf, model.values, batch, strided.has(readsOf(s)[0] ?? -1), onednn);
        if (!m) unknown.add(unmeasuredName(leaf));
        else if (m.view) view = true;
        else [above, keeps] = [m.above, m.keeps];
        // Linear on a transposed-layout input of more than one axis per sample: at::linear's fused path
        // needs it contiguous, matmul reshapes it into a copy.
        const input = readsOf(s)[0];
        if (leaf.kind === "dense" && input !== undefined && strided.has(input) && model.values[input]!.shape.length > 1)
          above += bytesOf(input);
        // (One step: the transposed view of a size-1 axis is contiguous.)
        if (transposedOut.has(leaf.kind) && !keras(leaf))
          outs.filter((v) => model.values[v]!.shape[0]! > 1n).forEach((v) => strided.add(v));
      } else if (s.kind === "flow") {
        above = bytesOf(s.output);
      } else if (s.kind === "child") {
        const b = boundaryOf(model, s.node);
        const childHeld = new Set<number>();
        for (const [inner, outer] of b.reads) if (aliveAfter(outer, k)) childHeld.add(inner);
        const p = peakOf(s.node, childHeld);
        p.unknown.forEach((x) => unknown.add(x));
        above = p.excess ?? 0n;
      }
      // While the step runs: what was alive before it, plus its own peak above that.
      if (before + above > top) top = before + above;
      record?.push(before + above);
      const base = storageOf(readsOf(s)[0] ?? -1);
      for (const v of outs) {
        if (view) storage.set(v, base);
        else live.set(v, keeps ?? bytesOf(v));
        addUser(storageOf(v), v);
      }
      // Free every storage none of whose values is read later or kept.
      for (const [st, us] of users) {
        if (![...us].some((u) => keep.has(u) || (lastRead.get(u) ?? -1) > k)) {
          users.delete(st);
          live.delete(st);
        }
      }
    });
    if (unknown.size > 0) return { unknown };
    return { excess: top - entry, unknown };
  };

  /**
   * `moe` as the script's DenseMoE runs it (nnc's computation: every expert on every token, Mixtral's
   * routing), replayed as measured: the router's logits, softmax (the logits freed), topk's weights and
   * int64 indices, their sum and the renormalized weights (the sum and the old weights freed); each expert
   * in turn, its input alive, its output kept in a list; the stack (the list freed), the chosen outputs
   * gathered, weighted and summed.
   */
  const moePeak = (o: LayerNode): Peak => {
    const unknown = new Set<string>();
    const ops = o.ops.map((k) => model.ops[k]!);
    const combine = ops.find((op) => op.kind === "moe_combine");
    const experts = o.children[0];
    if (!combine || !experts || o.children.length !== 1) {
      unknown.add("moe");
      return { unknown };
    }
    const a = reader(combine);
    const E = a.int("experts");
    const K = a.int("top_k");
    const logits = bytesOf(combine.inputs[0]!);
    const rows = logits / (E * f32);
    const out = bytesOf(combine.inputs[1]!);
    const chosen = out * K;
    const b = boundaryOf(model, experts);
    const body = copyPeak(sharedOrigin(experts), new Set(b.reads.map(([inner]) => inner)));
    body.unknown.forEach((k) => unknown.add(k));
    if (body.excess === undefined) return { unknown };
    const m = new Replay();
    m.alloc(logits);
    m.alloc(logits);
    m.free(logits);
    m.alloc(rows * K * f32);
    m.alloc(rows * K * 8n);
    m.alloc(rows * f32);
    m.alloc(rows * K * f32);
    m.free(rows * f32 + rows * K * f32);
    // The last expert runs with the other E − 1 outputs kept: the highest of them.
    m.alloc((E - 1n) * out + body.excess);
    m.free(body.excess - out);
    m.alloc(E * out);
    m.free(E * out);
    m.alloc(chosen);
    m.alloc(chosen);
    m.alloc(bytesOf(combine.outputs[0]!));
    return { excess: m.top, unknown };
  };

  const inputs = model.inputIds;
  const steps: bigint[] = [];
  const p = copyPeak(model.root, new Set(inputs), steps);
  const unknown = [...p.unknown].sort();
  if (p.excess === undefined) return { unknown };
  return { bytes: inputs.reduce((a, v) => a + bytesOf(v), 0n) + p.excess, steps, unknown };
}
