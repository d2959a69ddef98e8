// The vocabulary of the language as the resolver reads it: every layer kind's signature and traits (from
// THE registry of kinds, registry.ts, one definition per kind in kinds/), the options every call accepts,
// the losses, the `expect` quantities and the input dtypes. grammar/README.md, "Vocabulary", is generated
// from these (vocabulary-doc.ts).
import { bool, dBool, dNone, p, type ParamSpec } from "./params.js";
import type { LayerEntry } from "./kind.js";
import { entryOf, kinds, type LayerKind } from "./registry.js";

export * from "./params.js";
export type { ChannelAxis, LayerCategory, LayerEntry, LayerTraits, TokenIds } from "./kind.js";

/** Every layer kind, in the order of the README's Vocabulary. */
export const layers: readonly LayerEntry[] = (Object.keys(kinds) as LayerKind[]).map(entryOf);

/** Layer entries by kind name (aliases included). */
export const layerKinds: ReadonlyMap<string, LayerEntry> = new Map(layers.map((entry) => [entry.kind, entry]));

export function layerEntry(kind: string): LayerEntry | undefined {
  return layerKinds.get(kind);
}

/** Options that every layer call and block call accepts. */
export const universalOptions: readonly ParamSpec[] = [
  p(
    "frozen",
    { kind: "oneOf", types: [bool, { kind: "tensorName" }, { kind: "list", of: { kind: "tensorName" } }] },
    dBool(false),
    "the tensors of this call are not trainable (`true`), or only the named ones of a layer (`bias`, `[weight, bias]`)",
  ),
  p("tie", { kind: "path" }, dNone, "share the weight of the named layer instead of owning one"),
  p("share", { kind: "path" }, dNone, "apply the named layer or block instance again: every tensor shared"),
];

// ── Losses ───────────────────────────────────────────────────────────────────────────────────────────

export interface LossEntry {
  readonly name: string;
  readonly description: string;
  readonly options: readonly ParamSpec[];
}

export const losses: readonly LossEntry[] = [
  { name: "mse", description: "mean squared error", options: [] },
  { name: "cross_entropy", description: "cross entropy on logits, with integer class targets", options: [] },
  {
    name: "binary_cross_entropy",
    description: "binary cross entropy on probabilities (on logits with `logits = true`)",
    options: [p("logits", bool, dBool(false))],
  },
];

export const lossKinds: ReadonlyMap<string, LossEntry> = new Map(losses.map((entry) => [entry.name, entry]));

// ── Assertions ───────────────────────────────────────────────────────────────────────────────────────

export interface ExpectQuantity {
  readonly name: string;
  readonly description: string;
}

export const expectQuantities: readonly ExpectQuantity[] = [
  { name: "params", description: "every parameter, tied tensors counted once" },
  { name: "weights", description: "parameters in weight tensors" },
  { name: "biases", description: "parameters in bias tensors" },
  { name: "buffers", description: "non-parameter state (batchnorm running statistics)" },
  { name: "trainable", description: "parameters not frozen" },
  { name: "non_trainable", description: "frozen parameters" },
  { name: "macs", description: "multiply–accumulates of one forward pass of one sample" },
  { name: "flops", description: "floating-point operations of one forward pass of one sample (2 per MAC)" },
];

export const expectQuantityNames: ReadonlySet<string> = new Set(expectQuantities.map((q) => q.name));

// ── Input types ──────────────────────────────────────────────────────────────────────────────────────

export interface InputDtype {
  readonly name: string;
  readonly description: string;
  /** Token inputs carry a vocabulary (`of 50_257`); float inputs must not. */
  readonly needsVocabulary: boolean;
}

export const inputDtypes: readonly InputDtype[] = [
  { name: "f32", description: "32-bit floats", needsVocabulary: false },
  { name: "f64", description: "64-bit floats", needsVocabulary: false },
  { name: "token", description: "integer token ids, 0 ≤ id < vocabulary", needsVocabulary: true },
];

export const inputDtypeNames: ReadonlyMap<string, InputDtype> = new Map(inputDtypes.map((d) => [d.name, d]));
