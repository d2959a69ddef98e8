// Recurrent layers: `rnn`, `lstm`, `gru` (`nn.RNN`, `nn.LSTM`, `nn.GRU`; Keras's bias convention as an option).
import { bool, dBool, dEnum, dInt, enumOf, nonNegative, p, perCall, positive, type ParamSpec } from "../params.js";
import { featuresLast, op, type KindFamily, type PositionUse } from "../kind.js";
import { dim, type Init, type LayerSemantics, type Shape, type TensorSpec } from "../types.js";
import { sequenceInput } from "./common.js";

const recurrentOptions: ParamSpec[] = [
  p("layers", positive, dInt(1n), "stacked layers"),
  p("bidirectional", bool, dBool(false)),
  p("bias", bool, dBool(true)),
  p("bias_convention", enumOf("pytorch", "keras"), dEnum("pytorch"), "pytorch: two bias vectors per gate; keras: one"),
  // What the caller takes of nn.LSTM's output (`out` or `h_n[-1]`): one instance may be used both ways.
  perCall(p("sequences", bool, dBool(true), "return the whole sequence (true) or the last step only (false)")),
];

function recurrent(gates: bigint): LayerSemantics {
  return (ctx) => {
    const s = sequenceInput(ctx);
    if (!s) return undefined;
    const H = ctx.int("hidden");
    const layers = ctx.int("layers");
    const dirs = ctx.bool("bidirectional") ? 2n : 1n;
    const convention = ctx.name("bias_convention") ?? "pytorch";
    const bias = ctx.bool("bias");
    // nn.LSTM(proj_size = P > 0): h_t = W_hr (o_t ⊙ tanh(c_t)), of size P; W_hh reads it ([4H, P]), the next
    // layer's input is P (× 2 bidirectional), weight_hr_l{k} [P, H] has no bias. PyTorch refuses P ≥ H
    // ("proj_size has to be smaller than hidden_size").
    const P = ctx.kind === "lstm" ? ctx.int("proj_size") : 0n;
    if (P >= H) {
      return ctx.fail(
        "OptionOutOfRange",
        ["range", { what: "`proj_size`", rule: `smaller than hidden = ${H}`, value: String(P) }],
        {
          arg: "proj_size",
          help: "a projection narrows the hidden state: use a size below `hidden`, or 0 for none",
        },
      );
    }
    const R = P > 0n ? P : H;
    // Keras keeps one bias vector per gate set for SimpleRNN and LSTM; its GRU keeps two with reset_after =
    // True (the TF2 default), like PyTorch, and one with reset_after = False (Keras's GRU: bias of shape
    // (2, 3·units) or (3·units,)).
    const resetAfter = ctx.kind !== "gru" || ctx.bool("reset_after");
    const twoBiases = convention === "pytorch" || (ctx.kind === "gru" && resetAfter);
    const tensors: TensorSpec[] = [];
    // PyTorch: every RNN/LSTM/GRU tensor starts as U(±1/√hidden).
    const init: Init = { kind: "uniform", bound: 1 / Math.sqrt(Number(H)) };
    let macs = 0n;
    for (let l = 0n; l < layers; l++) {
      const inSize = l === 0n ? s.d.size : R * dirs;
      for (let d = 0n; d < dirs; d++) {
        const suffix = `_l${l}${d === 1n ? "_reverse" : ""}`;
        tensors.push({ name: `weight_ih${suffix}`, shape: [gates * H, inSize], role: "matrix", init });
        tensors.push({ name: `weight_hh${suffix}`, shape: [gates * H, R], role: "matrix", init });
        if (bias && twoBiases) {
          tensors.push({ name: `bias_ih${suffix}`, shape: [gates * H], role: "bias", init });
          tensors.push({ name: `bias_hh${suffix}`, shape: [gates * H], role: "bias", init });
        } else if (bias) {
          tensors.push({ name: `bias${suffix}`, shape: [gates * H], role: "bias", init });
        }
        // PyTorch's order of a direction's tensors: weight_ih, weight_hh, bias_ih, bias_hh, weight_hr.
        if (P > 0n) tensors.push({ name: `weight_hr${suffix}`, shape: [P, H], role: "matrix", init });
        macs += s.t.size * (gates * H * (inSize + R) + P * H);
      }
    }
    const output: Shape = ctx.bool("sequences") ? [s.t, dim(R * dirs)] : [dim(R * dirs)];
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

/** A forward-only layer that returns every step: step t reads steps up to t. */
const forwardSteps: PositionUse = (a) => !a.flag("bidirectional", false) && a.flag("sequences", true);

export const recurrentKinds = {
  rnn: op({
    category: "recurrent",
    ...featuresLast,
    description: "an Elman recurrent layer",
    args: [p("hidden", positive)],
    options: [...recurrentOptions, p("nonlinearity", enumOf("tanh", "relu"), dEnum("tanh"))],
    shape: recurrent(1n),
    positions: forwardSteps,
    doc: { shapes: "`[T, D] → [T, hidden]` (`[hidden]` with `sequences = false`; twice as wide bidirectional)" },
  }),
  lstm: op({
    category: "recurrent",
    ...featuresLast,
    description: "a long short-term memory layer",
    args: [p("hidden", positive)],
    options: [
      ...recurrentOptions,
      p("proj_size", nonNegative, dInt(0n), "project h to this size (below hidden; 0: none), as nn.LSTM"),
    ],
    shape: recurrent(4n),
    positions: forwardSteps,
    doc: {
      shapes:
        "`[T, D] → [T, hidden]`, `[T, proj_size]` with a projection (`[hidden]` or `[proj_size]` with `sequences = false`; twice as wide bidirectional)",
    },
  }),
  gru: op({
    category: "recurrent",
    ...featuresLast,
    description: "a gated recurrent unit layer",
    args: [p("hidden", positive)],
    options: [
      ...recurrentOptions,
      p(
        "reset_after",
        bool,
        dBool(true),
        "true: r ⊙ (W_hn h + b_hn), as PyTorch and Keras's default; false: W_hn (r ⊙ h), Keras's reset_after = False",
      ),
    ],
    shape: recurrent(3n),
    positions: forwardSteps,
    doc: {
      note: "`reset_after = false` is Keras's `reset_after=False` (n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)); with `bias_convention = keras` it keeps one bias vector, as Keras does, and two with `reset_after = true`",
    },
  }),
} satisfies KindFamily;
