// The "Vocabulary" section of the language reference (grammar/README.md), generated from the registry of
// kinds so that it lists every kind with its signature, PyTorch's defaults and its documentation:
// `npm run grammar` rewrites the part between the two markers, and test/grammar-docs.test.ts fails when it
// is stale.
import type { LayerCategory } from "./kind.js";
import type { ArgType, DefaultValue, ParamSpec } from "./params.js";
import { kinds, type LayerKind } from "./registry.js";

export const vocabularyStart =
  "<!-- vocabulary:start (generated from src/vocabulary/kinds/ by `npm run grammar`; edit the definitions, not this) -->";
export const vocabularyEnd = "<!-- vocabulary:end -->";

/** The sections of the reference, in order, and the categories each holds. */
const sections: readonly { readonly title: string; readonly categories: readonly LayerCategory[] }[] = [
  { title: "Dense, convolution, pooling, shape", categories: ["dense", "conv", "pool", "shape", "combine"] },
  { title: "Embeddings and positions", categories: ["embedding"] },
  { title: "Normalization and regularization", categories: ["norm", "regularization"] },
  { title: "Attention, recurrence, experts", categories: ["attention", "recurrent", "container"] },
  { title: "Activations", categories: ["activation"] },
];

const escape = (s: string): string => s.replace(/\|/g, "\\|");

/** A number as a spec would write it: `10_000`, `1e-5`, `0.5`. */
function numberText(x: number | bigint): string {
  if (typeof x === "number" && !Number.isInteger(x)) return Math.abs(x) < 1e-3 ? x.toExponential() : String(x);
  const s = String(x);
  return s.replace(/\B(?=(\d{3})+$)/g, "_").replace(/^(-?\d)_(\d{3})$/, "$1$2");
}

function defaultText(d: DefaultValue): string {
  switch (d.kind) {
    case "int":
    case "decimal":
      return numberText(d.value);
    case "bool":
      return String(d.value);
    case "enum":
      return d.value;
    case "string":
      return JSON.stringify(d.value);
    case "none":
      return "";
    case "sameAs":
      return d.param;
    case "derived":
      return d.formula;
  }
}

/** The names an option also takes besides its default (`padding = 0 | same | valid`). */
function enumValues(type: ArgType): string[] {
  if (type.kind === "enum") return [...type.values];
  if (type.kind === "oneOf") return type.types.flatMap(enumValues);
  return [];
}

/** `stride = 1`, `qkv = fused | separate`, `padding_idx` (off unless given). */
function paramText(p: ParamSpec): string {
  if (!p.default) return p.name;
  const d = defaultText(p.default);
  if (d === "") return p.name;
  const others = enumValues(p.type).filter((v) => v !== d);
  return `${p.name} = ${[d, ...others].join(" | ")}`;
}

function callText(kind: string, args: readonly ParamSpec[], body: boolean): string {
  const sig = args.length > 0 ? `${kind}(${args.map(paramText).join(", ")})` : kind;
  return body ? `${sig} { … }` : sig;
}

/** The Markdown of the section, between its markers. */
export function vocabularyMarkdown(): string {
  const lines = [vocabularyStart];
  const names = Object.keys(kinds) as LayerKind[];
  for (const section of sections) {
    lines.push(`### ${section.title}`, "| call | options (defaults) | what it does |", "|---|---|---|");
    for (const kind of names) {
      const def = kinds[kind];
      const target = def.form === "alias" ? kinds[def.aliasOf] : def;
      if (!section.categories.includes(target.category)) continue;
      if (def.form === "alias") {
        lines.push(`| \`${kind}\` | as \`${def.aliasOf}\` | another name for \`${def.aliasOf}\` |`);
        continue;
      }
      const options = def.options.map(paramText).join(", ");
      const what = [def.description, def.doc.shapes, def.doc.note].filter((s) => s !== undefined).join("; ");
      lines.push(
        `| \`${escape(callText(kind, def.args, def.body === "required"))}\` | ${options ? `\`${escape(options)}\`` : "—"} | ${escape(what)} |`,
      );
    }
    lines.push("");
  }
  lines.push(vocabularyEnd);
  return lines.join("\n");
}

/** `readme` with its generated vocabulary replaced (or `undefined` when the markers are missing). */
export function withVocabulary(readme: string): string | undefined {
  const start = readme.indexOf(vocabularyStart);
  const end = readme.indexOf(vocabularyEnd);
  if (start < 0 || end < start) return undefined;
  return readme.slice(0, start) + vocabularyMarkdown() + readme.slice(end + vocabularyEnd.length);
}
