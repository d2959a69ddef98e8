// The checks every kind gets from its traits (kind.ts, `LayerTraits`), before and after its shape rule:
// token ids where a kind needs floats (or floats where it reads ids), and a sequence axis where it reads
// its channels or features. The analysis reports them (NN3016 WrongDtype, NN3017 SequenceAsChannels).
import { grouped } from "../diagnostics/numbers.js";
import type { Label } from "../diagnostics/diagnostic.js";
import type { MessageArgs } from "../diagnostics/message.js";
import type { LayerTraits } from "./kind.js";
import { layers } from "./layers.js";
import { showShape, type TensorValue } from "./types.js";

export { maxSplitParts } from "./kinds/shape.js";

/** What is wrong with a value given to a kind, by its traits; the analysis reports it with a label at the
 *  value's origin (`showInput`) or the given labels. */
export interface TraitProblem<M> {
  readonly message: M;
  readonly help?: string;
  readonly notes?: readonly string[];
  /** Label the value given ("this has shape …"); otherwise `labels` say where the problem came from. */
  readonly showInput: boolean;
  readonly labels?: readonly Label[];
}

/** Kinds that keep token ids (`TokenIds` "keeps"), for messages. */
const keepIds = layers.filter((e) => e.tokenIds === "keeps").map((e) => `\`${e.kind}\``);

/** Token ids given to a kind that `rejects` them, or floats given to the kind that `reads` ids (saying
 *  where ids were lost when the floats were computed from ids); checked before the kind's shape rule. */
export function tokenIdProblem(
  traits: LayerTraits,
  kind: string,
  input: TensorValue,
): TraitProblem<MessageArgs<"WrongDtype">> | undefined {
  if (traits.tokenIds === "reads" && input.dtype !== "token") {
    const lost = input.idsLost;
    if (lost) {
      // Averaged or added ids index the table at fractional or out-of-range rows (NaN or a wrong row).
      return {
        message: ["idsLost", { kind, shape: showShape(input.shape), by: lost.by }],
        showInput: false,
        labels: [{ span: lost.span, message: `${lost.by} does not keep token ids: its result is not an id` }],
        notes: [`only ${keepIds.slice(0, -1).join(", ")} and ${keepIds[keepIds.length - 1]} keep token ids`],
        help: `look the ids up first: put the \`${kind}\` before it`,
      };
    }
    return {
      message: ["floats", { kind, shape: showShape(input.shape) }],
      showInput: true,
      help: "declare the input as `token[T] of vocab`",
    };
  }
  if (traits.tokenIds !== "rejects" || input.dtype !== "token") return undefined;
  return {
    message: ["ids", { kind, shape: showShape(input.shape) }],
    showInput: true,
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
): TraitProblem<MessageArgs<"SequenceAsChannels">> | undefined {
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
    showInput: true,
    message: { kind, axis: axisWord, where, shape: showShape(shape), what },
    notes: [
      `a length is not a ${first ? "channel" : "feature"} count: read as ${axisWord}, it would give the layer ${grouped(d.size)} input ${axisWord}`,
    ],
    help,
  };
}
