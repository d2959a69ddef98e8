// Memory at a batch size (`nnc count --batch N`): what a forward pass keeps for the backward pass (activation
// memory), per layer and in total, the inference peak and a training estimate, in exact bytes (bigint: no
// batch size makes a figure round). Two conventions, always labelled:
//
// - The generated module (`nnc build`): the arrays its workspace allocates at batch N, element for element.
//   Counting cannot import the code generator (ARCHITECTURE.md, layers), so the layout is mirrored here per
//   op kind: one array per value that is not an alias (flatten, reshape and identity share their input's,
//   src/emit/kernels/index.ts `viewKinds`), the inputs' copies, one gradient array per value, and the scratch arrays
//   the kernels ask for (src/emit/kernels/: dropout masks, attention's q/k/v/probabilities, norms' x̂ and
//   inverse deviations, max pooling's argmax, recurrent states and gates, the moe routing), scaled by the
//   batch; convolutions' im2col buffers are fixed-size. test/memory.test.ts reads every module in
//   generated/ and requires the same sizes, array for array kind.
// - PyTorch eager: what autograd keeps for backward when the same model runs in PyTorch (fp32, training
//   mode, CPU), per op kind (`eagerOp`), measured with torch's saved-tensor hooks
//   (scripts/torch-saved-tensors.py, test/fixtures/torch-saved-tensors.json), each storage once within a
//   block (`eagerOf`). Kinds not measured (gru with the reset before the product, which PyTorch lacks) are named, not guessed.
//
// - PyTorch eager's inference peak (eval, no_grad): parameters, buffers and the most activations alive at
//   once, each op's temporaries measured (src/count/eager-peak.ts).
//
// Both walk the analysis's layer tree once per distinct subtree, as count.ts does (a reused block's figures
// are its first analysis's), so the cost follows the spec's text, not its repeat counts.
import type { LayerNode, ModelAnalysis } from "../analyze/analyze.js";
import type { IrOp, IrValue } from "../ir/ir.js";
import { reader } from "./op-args.js";
import { sharedOrigin } from "../analyze/shared.js";
import type { Figures } from "./count.js";
import { eagerInferencePeak, eagerPaddedInput } from "./eager-peak.js";

export type ModuleDtype = "float32" | "float64";
export type Optimizer = "adam" | "sgd-momentum" | "sgd";
export const optimizers: readonly Optimizer[] = ["adam", "sgd-momentum", "sgd"];

/** Elements per sample of what one op (or one copy of a subtree) adds to the generated module. */
export interface ModuleElements {
  /** Its output arrays (none for an alias). */
  readonly values: bigint;
  /** Scratch its forward pass fills and its backward pass reads (training build). */
  readonly kept: bigint;
  /** Scratch the forward pass of an inference build (`--bake-weights`) fills. */
  readonly inferenceKept: bigint;
  /** Scratch only the backward pass uses (gradients of attention's q/k/v, the moe routing). */
  readonly backward: bigint;
  /** Fixed-size workspace, not scaled by the batch: a convolution's im2col buffer, and in a training
   *  build its gradient. */
  readonly fixed: bigint;
  readonly fixedInference: bigint;
}

const zero: ModuleElements = { values: 0n, kept: 0n, inferenceKept: 0n, backward: 0n, fixed: 0n, fixedInference: 0n };

/** Ops whose output is the input's memory (src/emit/kernels/index.ts `viewKinds`; the test compares the two). */
export const aliasKinds: ReadonlySet<string> = new Set(["flatten", "reshape", "identity"]);

const elementsOf = (shape: readonly bigint[]): bigint => shape.reduce((a, b) => a * b, 1n);

/** What one op adds to the generated module, per sample (see src/emit/kernels/ for each scratch array). */
export function moduleOp(op: IrOp, values: readonly IrValue[]): ModuleElements {
  const shapeOf = (id: number) => values[id]!.shape;
  const inShape = shapeOf(op.inputs[0]!);
  const inSize = elementsOf(inShape);
  const outSize = op.outputs.length > 0 ? elementsOf(shapeOf(op.outputs[0]!)) : 0n;
  const own = aliasKinds.has(op.kind) ? 0n : op.outputs.reduce((a, id) => a + elementsOf(shapeOf(id)), 0n);
  const a = reader(op);
  const training = (kept: bigint, backward = 0n): ModuleElements => ({ ...zero, values: own, kept, backward });
  const both = (kept: bigint, backward = 0n): ModuleElements => ({
    ...zero,
    values: own,
    kept,
    inferenceKept: kept,
    backward,
  });
  switch (op.kind) {
    case "dropout":
      return training(inSize); // the mask (activation.ts)
    case "drop_path":
      return training(1n); // one factor per sample (activation.ts)
    case "batchnorm": {
      const track = a.bool("track_running_stats");
      return training(inSize + inShape[0]! + (track ? 1n : 0n)); // x̂, inverse std per channel, batch-stats flag
    }
    case "groupnorm":
      return training(inSize + a.int("groups"));
    case "layernorm":
      return training(inSize + inSize / inShape[inShape.length - 1]!); // x̂, inverse std per row
    case "rmsnorm":
      return training(inSize / inShape[inShape.length - 1]!); // r per row
    case "max_pool1d":
    case "max_pool2d":
    case "max_pool3d":
      return training(outSize); // argmax per output
    case "attention": {
      const T = inShape[0]!;
      // Keys and values: the memory's S positions in cross-attention (`[x, memory]`), else the input's.
      // add_bias_kv: one key and value more, bias_k and bias_v (S + 1 rows a sample).
      const S = shapeOf(op.inputs[op.inputs.length - 1]!)[0]! + (a.bool("add_bias_kv") ? 1n : 0n);
      const H = a.int("heads");
      const KV = a.resolved("kv_heads");
      const hd = a.resolved("head_dim");
      const Q = H * hd;
      const K = KV * hd;
      // q, k, v, probabilities, the dropout mask (dropout > 0), head outputs, rotary cos and sin tables.
      const kept = T * Q + 2n * S * K + H * T * S + (a.positive("dropout") ? H * T * S : 0n) + T * Q;
      const rope = a.bool("rope") ? T * hd : 0n;
      return both(kept + rope, 2n * T * Q + 2n * S * K + S); // d_heads, d_q, d_k, d_v, d_row
    }
    case "moe_combine": {
      const E = a.int("experts");
      const K = a.int("top_k");
      const rows = inSize / E;
      return both(inSize + 2n * rows * K, rows * K + inSize); // probs, chosen, weights; gw, gprob
    }
    case "rnn":
    case "lstm":
    case "gru": {
      const T = inShape[0]!;
      const H = a.int("hidden");
      const L = a.int("layers");
      const dirs = a.bool("bidirectional") ? 2n : 1n;
      const GS = op.kind === "rnn" ? 0n : 4n * H;
      // lstm's proj_size: every layer's output sequence holds the projected state.
      const P = op.kind === "lstm" ? a.int("proj_size") : 0n;
      const SEQ = L * T * (P > 0n ? P : H) * dirs;
      const DP = op.kind === "rnn" ? H : 4n * H;
      const cells = op.kind === "lstm" ? L * dirs * T * H : 0n;
      return both(SEQ + L * dirs * T * GS + cells + (SEQ + 2n * H + DP)); // seq, gates, cells, work
    }
    case "conv1d":
    case "conv2d":
    case "conv3d": {
      const rank = op.kind === "conv1d" ? 1 : op.kind === "conv2d" ? 2 : 3;
      const outShape = shapeOf(op.outputs[0]!);
      const groups = a.int("groups");
      // A padding mode other than zeros: the padded input (forward) and its gradient (backward; both are
      // scratch of the training build, the padded input alone of an inference build).
      const kernel = a.ints("kernel", rank);
      const dil = a.ints("dilation", rank);
      const before = (op.attrs?.["padding"] as readonly bigint[] | undefined) ?? [];
      const same = a.name("padding") === "same";
      const widths = inShape
        .slice(1)
        .map((L, i) => L + before[i]! + (same ? dil[i]! * (kernel[i]! - 1n) - before[i]! : before[i]!));
      const pads = (a.name("padding_mode") ?? "zeros") !== "zeros" && widths.some((w, i) => w > inShape[i + 1]!);
      const padded = pads ? inShape[0]! * elementsOf(widths) : 0n;
      const pad: ModuleElements = { ...zero, values: own, kept: 2n * padded, inferenceKept: padded };
      if (outShape[0]! / groups < 4n) return pad; // direct loops, no im2col buffer
      const K = (inShape[0]! / groups) * elementsOf(kernel);
      const col = elementsOf(outShape.slice(1)) * K;
      return { ...pad, fixed: 2n * col, fixedInference: col }; // col; dcol in backward
    }
    default:
      return both(0n);
  }
}

function add(a: ModuleElements, b: ModuleElements, times: bigint): ModuleElements {
  return {
    values: a.values + b.values * times,
    kept: a.kept + b.kept * times,
    inferenceKept: a.inferenceKept + b.inferenceKept * times,
    backward: a.backward + b.backward * times,
    fixed: a.fixed + b.fixed * times,
    fixedInference: a.fixedInference + b.fixedInference * times,
  };
}

// ── PyTorch eager ────────────────────────────────────────────────────────────────────────────────────

/** What autograd saves for one op, per sample, in PyTorch eager (fp32, training, CPU): its input, its
 *  output, and tensors of its own (bytes). Measured: scripts/torch-saved-tensors.py. */
interface EagerSaves {
  /** Its first input, or (`mul`) every input. */
  readonly input?: boolean | "all";
  readonly output?: boolean;
  readonly extra: bigint;
  /** Bytes that do not grow with the batch (BatchNorm's batch mean and inverse std per channel). */
  readonly fixed?: bigint;
  /** Bytes per sample of the storage its output is a view of, when larger than the output (a recurrent
   *  layer's h_n[-1] views the stacked h_n): what an op that saves the output keeps. */
  readonly outputStorage?: bigint;
  /** Its output is a tensor already in `extra` (a Keras-convention RNN's last state): saving it again adds
   *  nothing. */
  readonly outputSaved?: boolean;
  /** Copies of its input it makes (a torch recurrent layer's time-major copy per direction), unless the
   *  input is already time-major (another recurrent layer's output, `timeMajorOut`): then it reads it in
   *  place and saves it once. */
  readonly inputCopies?: bigint;
  /** It saves its input only when the input needs a gradient: not the model's inputs (nor views of them),
   *  which PyTorch takes without requires_grad. */
  readonly inputIfGrad?: boolean;
  /** Its output is a transposed view of a time-major tensor (a torch recurrent layer's, sequences on). */
  readonly timeMajorOut?: boolean;
}

/** Bytes of a float32 element, a bool (dropout masks on CUDA; not used here) and an int64 index. */
const f32 = 4n;
const i64 = 8n;

/** Kinds whose eager saves are measured (test/fixtures/torch-saved-tensors.json). Others are reported as
 *  not estimated rather than guessed. */
export function eagerOp(op: IrOp, values: readonly IrValue[]): EagerSaves | undefined {
  const inShape = values[op.inputs[0]!]!.shape;
  const inSize = elementsOf(inShape);
  const outSize = op.outputs.length > 0 ? elementsOf(values[op.outputs[0]!]!.shape) : 0n;
  const a = reader(op);
  const rows = () => inSize / inShape[inShape.length - 1]!;
  switch (op.kind) {
    // Views and sums save nothing.
    case "flatten":
    case "reshape":
    case "identity":
    case "add":
    case "sub":
    case "transpose":
    case "take":
    case "concat":
    case "split":
    case "class_token":
    case "positional":
      return { extra: 0n };
    case "mul":
      return { input: "all", extra: 0n };
    case "mean":
      return { input: true, extra: 0n };
    // addmm / mm / conv save their input (and the weight, a parameter); when PyTorch pads into a new
    // tensor first (a padding mode other than zeros, or `same` odd on an axis: constant_pad_nd by the odd
    // cell), conv saves that copy instead, and the padding saves nothing (measured).
    case "conv1d":
    case "conv2d":
    case "conv3d": {
      const padded = eagerPaddedInput(op, inShape);
      if (padded === undefined) return { input: true, extra: 0n };
      // reflection_pad / replication_pad also save their input when it needs a gradient.
      const mode = a.name("padding_mode") ?? "zeros";
      return { extra: padded * f32, inputIfGrad: mode === "reflect" || mode === "replicate" };
    }
    case "dense":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "prelu":
      return { input: true, extra: 0n };
    // x / (1 + |x|): the input and 1 + |x|.
    case "softsign":
      return { input: true, extra: inSize * f32 };
    // Elementwise: the result for relu, sigmoid, tanh, softmax, log_softmax; the input for the rest.
    case "relu":
    case "sigmoid":
    case "tanh":
    case "softmax":
    case "log_softmax":
      return { output: true, extra: 0n };
    case "relu6":
    case "hardswish":
    case "gelu":
    case "silu":
    case "leaky_relu":
    case "elu":
    case "selu":
    case "softplus":
    case "mish":
    case "hard_sigmoid":
    case "abs":
      return { input: true, extra: 0n };
    // Training-mode dropout on the CPU: input × a float noise tensor; the noise is saved.
    case "dropout":
      return a.positive("p") ? { extra: inSize * f32 } : { extra: 0n };
    // torchvision's StochasticDepth: input × a float noise tensor of one element per sample (`row`) or one
    // for the batch (`batch`), saved; p = 0 returns its input (a view, `eagerOf`).
    case "drop_path":
      if (!a.positive("p")) return { extra: 0n };
      return a.name("mode") === "batch" ? { extra: 0n, fixed: f32 } : { extra: f32 };
    // upsample_nearest*d and upsample_bilinear2d keep only sizes and scales.
    case "upsample":
      return { extra: 0n };
    // native_batch_norm: the input, and the batch's mean and inverse std per channel (not per sample).
    case "batchnorm":
      return { input: true, extra: 0n, fixed: 2n * inShape[0]! * f32 };
    // native_layer_norm: the input, a mean and a reciprocal std per row.
    case "layernorm":
      return { input: true, extra: 2n * rows() * f32 };
    // RMSNorm as HF LlamaRMSNorm writes it (torch 1.13 has no nn.RMSNorm): x.pow(2) saves x and x²
    // (`mean` keeps its input), rsqrt its result per row, and `weight * x̂` the normalized x̂.
    case "rmsnorm":
      return { input: true, extra: (inSize + rows() + (a.bool("affine") ? inSize : 0n)) * f32 };
    // rotary as HF LlamaRotaryEmbedding + apply_rotary_pos_emb: cos and sin, [batch, T, D] each, made in
    // forward from the position ids, saved by `x * cos` and `rotate_half(x) * sin` (x is not saved).
    case "rotary":
      return { extra: 2n * inSize * f32 };
    // Self-attention as Hugging Face's eager path (LlamaAttention, attn_implementation="eager"; GPT-2's
    // fused c_attn split for qkv = fused), not F.scaled_dot_product_attention, whose saves depend on the
    // backend torch picks (math, flash, memory-efficient) and so on the device: the input (saved by the
    // projections), q, k and v as the batched matmuls copy them, k and v after `repeat_kv` (so H heads
    // each, whatever kv_heads), the probabilities (softmax and matmul), the heads' output the out-projection
    // saves, rope's cos and sin ([batch, T, head_dim] each), and with dropout its float noise and the
    // dropped probabilities. The 1/√head_dim divisor is a float64 scalar: 8 bytes, whatever the batch.
    case "attention": {
      // add_bias_kv is not measured (the script's eager attention, Hugging Face's, has none).
      if (a.bool("add_bias_kv")) return undefined;
      const T = inShape[0]!;
      // Cross-attention (`[x, memory]`): keys and values from the memory's S positions, which its
      // projections save too.
      const S = values[op.inputs[1] ?? op.inputs[0]!]!.shape[0]!;
      const H = a.int("heads");
      const hd = a.resolved("head_dim");
      const Q = H * hd;
      const probs = H * T * S * (a.positive("dropout") ? 3n : 1n);
      const rope = a.bool("rope") ? 2n * T * hd : 0n;
      // q, k and v at every head as the matmuls copy them, the heads' output.
      return { input: "all", extra: (2n * T * Q + 2n * S * Q + probs + rope) * f32, fixed: 8n };
    }
    // nn.RNN / nn.LSTM / nn.GRU on the CPU (batch_first, PyTorch's bias convention), per layer and direction:
    // its input as the all-steps input projection reads it in time-major order, and per step the state
    // h_{t-1} (RNN: every state h_0 … h_T, tanh/relu saving its result; LSTM: the four gates, c_{t-1},
    // tanh(c_t) and h_{t-1}; GRU: as many). A recurrent layer straight after another (within a node's own
    // ops and direct layers, `eagerOf`) reads its time-major output in place, saved once. With `sequences = false` the output is h_n of the last layer (`h_n[-1]`, or
    // `cat(h_n[-2], h_n[-1])` bidirectional): one direction's is a view of the stacked h_n, [layers, batch,
    // hidden], which whoever saves it keeps whole; the two directions' cat is a tensor of its own.
    //
    // Keras's bias convention: the layer as Keras defines its cells (SimpleRNNCell, LSTMCell, GRUCell with
    // reset_after, https://keras.io/api/layers/recurrent_layers/), written step by step in PyTorch
    // (scripts/torch-saved-tensors.py `KerasRecurrent`): layer 0 reads its input in place (x[:, t]), a
    // deeper layer the stack (or the directions' cat) of the layer below, one storage for both directions;
    // per step RNN the states h_0 … h_T, LSTM h_{t-1}, c_{t-1}, i, f, g, o and tanh(c_t), GRU h_{t-1}, z,
    // r, h_{t-1}·U + b (3·hidden: r ⊙ its third is saved as a view of it), tanh of the candidate and 1 − z.
    // `sequences = false` gives the last step's h: the RNN's is its nonlinearity's saved result. An LSTM with
    // proj_size P saves P more per step (the projected state) and its next layer reads P × dirs; its h_n is
    // [layers × dirs, batch, P].
    case "rnn":
    case "lstm":
    case "gru": {
      // PyTorch has no GRU with the reset gate before the product: nothing to measure.
      if (op.kind === "gru" && !a.bool("reset_after")) return undefined;
      const T = inShape[0]!;
      const H = a.int("hidden");
      const L = a.int("layers");
      const dirs = a.bool("bidirectional") ? 2n : 1n;
      const sequences = a.bool("sequences");
      let elements = 0n;
      if (a.name("bias_convention") === "keras") {
        const perStep = op.kind === "rnn" ? H : op.kind === "lstm" ? 7n * H : 8n * H;
        for (let l = 0n; l < L; l++) {
          elements += (l === 0n ? 0n : T * H * dirs) + dirs * (T * perStep + (op.kind === "rnn" ? H : 0n));
        }
        const saved = !sequences && dirs === 1n && op.kind === "rnn";
        return { input: true, extra: elements * f32, ...(saved ? { outputSaved: true } : {}) };
      }
      const P = op.kind === "lstm" ? a.int("proj_size") : 0n;
      const out = P > 0n ? P : H;
      const perStep = op.kind === "rnn" ? H : 7n * H + P;
      for (let l = 0n, width = inShape[1]!; l < L; l++, width = out * dirs) {
        // Layer 0's batch-major input is copied per direction (`inputCopies`); a deeper layer's input, the
        // layer below's time-major output, is read in place, one storage for both directions.
        elements += (l === 0n ? 0n : T * width) + dirs * (T * perStep + (op.kind === "rnn" ? H : 0n));
      }
      const hn = !sequences && dirs === 1n ? { outputStorage: L * out * f32 } : {};
      return {
        extra: elements * f32,
        inputCopies: dirs,
        ...(sequences && T > 1n ? { timeMajorOut: true } : {}),
        ...hn,
      };
    }
    // moe's combining step as nnc computes it (every expert on every token) in PyTorch: softmax → topk →
    // divide by the sum (Mixtral's routing), the experts' outputs stacked and the chosen ones gathered, then
    // mixed: the probabilities, topk's values and int64 indices, the sum, the stack (gather keeps it), the
    // renormalized weights and the gathered outputs. The router is a `dense` (saves its input).
    case "moe_combine": {
      const E = a.int("experts");
      const K = a.int("top_k");
      const r = inSize / E;
      const D = elementsOf(values[op.inputs[1]!]!.shape) / r;
      return { extra: (r * E + 2n * r * K + r + r * E * D + r * K * D) * f32 + r * K * i64 };
    }
    // nn.InstanceNorm (batch_norm over [1, N·C, …]): the input, a mean and a reciprocal std per channel,
    // and with affine the weight repeated per sample (a tensor of its own, not the parameter).
    case "instancenorm":
      return { input: true, extra: (a.bool("affine") ? 3n : 2n) * inShape[0]! * f32 };
    // pixel_shuffle copies and saves nothing.
    case "pixel_shuffle":
      return { extra: 0n };
    // native_group_norm: the input, a mean and a reciprocal std per group.
    case "groupnorm":
      return { input: true, extra: 2n * a.int("groups") * f32 };
    // max_pool*_with_indices: the input and an int64 index per output.
    case "max_pool1d":
    case "max_pool2d":
    case "max_pool3d":
      return { input: true, extra: outSize * i64 };
    case "avg_pool1d":
    case "avg_pool2d":
    case "avg_pool3d":
    case "adaptive_avg_pool1d":
    case "adaptive_avg_pool2d":
    case "adaptive_avg_pool3d":
    case "global_avg_pool":
      return { input: true, extra: 0n };
    // embedding: the int64 indices (the model's token input is int64 in PyTorch).
    case "embedding":
      return { input: true, extra: 0n };
    // A bare nn.Parameter read in an expression is the parameter itself: nothing saved for it, and an op
    // that saves it (mul) saves a parameter, counted as one.
    case "parameter":
      return { extra: 0n, outputSaved: true };
    default:
      return undefined;
  }
}

// ── per node ─────────────────────────────────────────────────────────────────────────────────────────

/** One copy of a subtree: the generated module's elements per sample, PyTorch eager's saved bytes per
 *  sample, and the op kinds whose eager saves are not known. */
export interface SubtreeMemory {
  readonly module: ModuleElements;
  /** PyTorch eager: saved bytes per sample, and saved bytes that do not grow with the batch. */
  readonly eager: bigint;
  readonly eagerFixed: bigint;
  readonly eagerUnknown: ReadonlySet<string>;
}

/** Ops whose outputs are views of their input in PyTorch (`view`/`reshape` of a contiguous tensor, `select`,
 *  `transpose`, `split`): saving one keeps the whole input's storage. */
const eagerViews: ReadonlySet<string> = new Set(["flatten", "reshape", "identity", "take", "transpose", "split"]);

/** Bytes per sample of a value in PyTorch: token ids are int64, floats fp32. */
function eagerBytes(v: IrValue): bigint {
  return elementsOf(v.shape) * (v.dtype === "token" ? i64 : f32);
}

interface Eager {
  bytes: bigint;
  fixed: bigint;
  readonly unknown: Set<string>;
}

/**
 * What a list of ops saves, each storage once (a ReLU's result that the next Linear saves as its input; a
 * view saved keeps its base). The list is one node's own ops and its direct single layers (`local` in
 * `subtreeMemory`): within it, which op made which value reads the same in every use of a reused block,
 * so the figure does not depend on memoization. Across a block's edge a storage saved on both sides
 * (a block ending in ReLU before one starting with Linear) is counted on each: an upper bound there.
 */
function eagerOf(model: ModelAnalysis, ops: readonly number[]): Eager {
  const out: Eager = { bytes: 0n, fixed: 0n, unknown: new Set() };
  const storage = new Map<number, number>();
  const storageOf = (id: number) => storage.get(id) ?? id;
  /** Storages larger than their value (`outputStorage`). */
  const storageBytes = new Map<number, bigint>();
  const saved = new Set<number>();
  /** Storages laid out time-major (a torch recurrent layer's output). */
  const timeMajor = new Set<number>();
  const save = (id: number) => {
    const s = storageOf(id);
    if (saved.has(s)) return;
    saved.add(s);
    out.bytes += storageBytes.get(s) ?? eagerBytes(model.values[s]!);
  };
  for (const k of [...ops].sort((a, b) => a - b)) {
    const op = model.ops[k]!;
    // torchvision's StochasticDepth with p = 0 returns its input itself.
    const view = eagerViews.has(op.kind) || (op.kind === "drop_path" && !reader(op).positive("p"));
    if (view) for (const id of op.outputs) storage.set(id, storageOf(op.inputs[0]!));
    const saves = eagerOp(op, model.values);
    if (!saves) {
      out.unknown.add(op.kind === "attention" ? "attention (add_bias_kv)" : op.kind);
      continue;
    }
    out.bytes += saves.extra;
    out.fixed += saves.fixed ?? 0n;
    if (saves.inputCopies !== undefined) {
      const input = op.inputs[0]!;
      if (timeMajor.has(storageOf(input))) save(input);
      else out.bytes += saves.inputCopies * eagerBytes(model.values[input]!);
    }
    if (saves.timeMajorOut) for (const id of op.outputs) timeMajor.add(storageOf(id));
    if (saves.outputStorage !== undefined)
      for (const id of op.outputs) storageBytes.set(storageOf(id), saves.outputStorage);
    if (saves.outputSaved) for (const id of op.outputs) saved.add(storageOf(id));
    if (saves.inputIfGrad && !model.inputIds.includes(storageOf(op.inputs[0]!))) save(op.inputs[0]!);
    if (saves.output) op.outputs.forEach(save);
    (saves.input === "all" ? op.inputs : saves.input ? op.inputs.slice(0, 1) : []).forEach(save);
  }
  return out;
}

const subtrees = new WeakMap<LayerNode, SubtreeMemory>();

/** Memory of one copy of a node's subtree, computed once per distinct subtree. */
export function subtreeMemory(model: ModelAnalysis, n: LayerNode): SubtreeMemory {
  const origin = sharedOrigin(n);
  const known = subtrees.get(origin);
  if (known) return known;
  let module = zero;
  for (const k of origin.ops) module = add(module, moduleOp(model.ops[k]!, model.values), 1n);
  // PyTorch's saves: this node's own ops and its direct single layers together (`eagerOf`), every
  // other child (a block, a repeat, a repeated layer) on its own.
  const local = [...origin.ops];
  const apart: { readonly s: SubtreeMemory; readonly times: bigint }[] = [];
  const m = origin.multiplicity;
  if (m !== 0n) {
    for (const c of origin.children) {
      const s = subtreeMemory(model, c);
      const times = c.multiplicity / m;
      module = add(module, s.module, times);
      const co = sharedOrigin(c);
      if (co.children.length === 0 && times === 1n) local.push(...co.ops);
      else apart.push({ s, times });
    }
  }
  const e = eagerOf(model, local);
  for (const { s, times } of apart) {
    e.bytes += s.eager * times;
    e.fixed += s.eagerFixed * times;
    for (const kind of s.eagerUnknown) e.unknown.add(kind);
  }
  const result = { module, eager: e.bytes, eagerFixed: e.fixed, eagerUnknown: e.unknown };
  subtrees.set(origin, result);
  return result;
}

// ── model totals ─────────────────────────────────────────────────────────────────────────────────────

export interface MemoryOptions {
  readonly batch: bigint;
  readonly dtype: ModuleDtype;
}

/** A figure with the terms it sums, every one in bytes. */
export interface Sum {
  readonly total: bigint;
  readonly terms: readonly { readonly name: string; readonly bytes: bigint }[];
}

function sum(terms: readonly (readonly [string, bigint])[]): Sum {
  return {
    total: terms.reduce((a, [, b]) => a + b, 0n),
    terms: terms.map(([name, bytes]) => ({ name, bytes })),
  };
}

export interface ModelMemory {
  readonly batch: bigint;
  readonly dtype: ModuleDtype;
  /** Bytes per element of the module's float arrays. */
  readonly elementBytes: bigint;
  readonly module: {
    /** Kept for backward at this batch: the inputs' copies, every layer's outputs and kept scratch. */
    readonly activations: Sum;
    /** An inference build (`--bake-weights`): what it allocates, all of it live at once. */
    readonly inference: Sum;
    /** A training build with `createTrainer`, by optimizer: everything it allocates. */
    readonly training: Readonly<Record<Optimizer, Sum>>;
  };
  readonly eager: {
    /** Bytes autograd saves at this batch; undefined when some op kind's saves are not known. */
    readonly activations?: bigint;
    readonly unknownKinds: readonly string[];
    /** Parameters + gradients + optimizer state + saved activations; undefined with unknown kinds. */
    readonly training?: Readonly<Record<Optimizer, Sum>>;
    /** Inference (eval, no_grad): parameters + buffers + the most activations alive at once
     *  (src/count/eager-peak.ts); undefined when some op kind's temporaries are not measured. */
    readonly inference?: Sum;
    /** Set when `inference` is under the oneDNN-off convention (torch.backends.mkldnn.enabled = False):
     *  the kinds PyTorch's default dispatch runs on oneDNN at this batch (`conv2d`), whose blocked copies
     *  are laid out per CPU. Absent for a model without such convolutions (the default dispatch's figure). */
    readonly inferenceOneDnnKinds?: readonly string[];
    /** What leaves `inference` undefined (empty when it is defined). */
    readonly inferenceUnknownKinds: readonly string[];
  };
}

export function modelMemory(model: ModelAnalysis, figures: Figures, options: MemoryOptions): ModelMemory {
  const { batch } = options;
  const B = options.dtype === "float64" ? 8n : 4n;
  const s = subtreeMemory(model, model.root);
  const inputs = model.inputIds.map((id) => model.values[id]!);
  const inputBytes = inputs.reduce((a, v) => a + elementsOf(v.shape) * (v.dtype === "token" ? 4n : B), 0n) * batch;
  const inputElements = inputs.reduce((a, v) => a + elementsOf(v.shape), 0n);
  const m = s.module;
  const params = figures.params * B;
  const buffers = figures.buffers * B;
  const layerActivations = (m.values + m.kept) * batch * B;
  const activations = sum([
    ["inputs (copied into the workspace)", inputBytes],
    ["layer outputs and kept scratch", layerActivations],
  ]);
  const firstOutput = model.outputIds.length > 0 ? elementsOf(model.values[model.outputIds[0]!]!.shape) : 0n;
  const trainingTerms = (optimizer: Optimizer): Sum =>
    sum([
      ["parameters", params],
      ["parameter gradients", params],
      [
        optimizer === "adam"
          ? "optimizer state (Adam m and v)"
          : "optimizer state (m, allocated for SGD with or without momentum)",
        optimizer === "adam" ? 2n * params : params,
      ],
      // The trainer's buffers and the module's own (`bf`, made when the module loads).
      ["buffers (the trainer's and the module's own)", 2n * buffers],
      ["activations (inputs, layer outputs, kept scratch)", activations.total],
      ["activation gradients", (inputElements + m.values) * batch * B],
      ["backward scratch", m.backward * batch * B],
      ["kernel workspace (fixed, im2col)", m.fixed * B],
      ["loss gradient", firstOutput * batch * B],
    ]);
  const inference = sum([
    ["parameters (baked)", params],
    // The baked running statistics and the working copy `forward` updates (the base64 text of the baked
    // values, 4/3 of their bytes, is source, not counted).
    ["buffers (baked and working copy)", 2n * buffers],
    ["inputs (copied into the workspace)", inputBytes],
    ["layer outputs and scratch", (m.values + m.inferenceKept) * batch * B],
    ["kernel workspace (fixed, im2col)", m.fixedInference * B],
  ]);
  const unknownKinds = [...s.eagerUnknown].sort();
  const eagerParams = figures.params * 4n;
  const eagerTrainable = figures.trainable * 4n;
  const eagerActivations = unknownKinds.length === 0 ? s.eager * batch + s.eagerFixed : undefined;
  const eagerTraining = (optimizer: Optimizer): Sum =>
    sum([
      ["parameters (fp32)", eagerParams],
      ["gradients (trainable parameters)", eagerTrainable],
      [
        optimizer === "adam"
          ? "optimizer state (Adam exp_avg and exp_avg_sq)"
          : optimizer === "sgd-momentum"
            ? "optimizer state (momentum_buffer)"
            : "optimizer state (none)",
        optimizer === "adam" ? 2n * eagerTrainable : optimizer === "sgd-momentum" ? eagerTrainable : 0n,
      ],
      ["buffers", figures.bytes.buffers],
      ["saved activations", eagerActivations ?? 0n],
    ]);
  // Convolutions the default dispatch sends to oneDNN (and nothing else unmeasured): the figure with
  // oneDNN disabled, every convolution on ATen's own kernels, named as such.
  const onDefault = eagerInferencePeak(model, batch);
  const oneDnnSuffix = " (oneDNN)";
  const viaOneDnn =
    onDefault.bytes === undefined &&
    onDefault.unknown.length > 0 &&
    onDefault.unknown.every((k) => k.endsWith(oneDnnSuffix));
  const peak = viaOneDnn ? eagerInferencePeak(model, batch, false) : onDefault;
  const eagerInference =
    peak.bytes !== undefined
      ? sum([
          ["parameters (fp32)", eagerParams],
          ["buffers", figures.bytes.buffers],
          ["activations alive at the peak (inputs included)", peak.bytes],
        ])
      : undefined;
  return {
    batch,
    dtype: options.dtype,
    elementBytes: B,
    module: {
      activations,
      inference,
      training: {
        adam: trainingTerms("adam"),
        "sgd-momentum": trainingTerms("sgd-momentum"),
        sgd: trainingTerms("sgd"),
      },
    },
    eager: {
      ...(eagerActivations !== undefined ? { activations: eagerActivations } : {}),
      unknownKinds,
      ...(eagerActivations !== undefined
        ? {
            training: {
              adam: eagerTraining("adam"),
              "sgd-momentum": eagerTraining("sgd-momentum"),
              sgd: eagerTraining("sgd"),
            },
          }
        : {}),
      ...(eagerInference ? { inference: eagerInference } : {}),
      ...(eagerInference && viaOneDnn
        ? { inferenceOneDnnKinds: onDefault.unknown.map((k) => k.slice(0, -oneDnnSuffix.length)) }
        : {}),
      inferenceUnknownKinds: eagerInference ? [] : onDefault.unknown,
    },
  };
}

/** Activation bytes of one copy of a table row's subtree at this batch: its outputs and kept scratch in
 *  the generated module. */
export function rowActivationBytes(model: ModelAnalysis, n: LayerNode, options: MemoryOptions): bigint {
  const m = subtreeMemory(model, n).module;
  return (m.values + m.kept) * options.batch * (options.dtype === "float64" ? 8n : 4n);
}
