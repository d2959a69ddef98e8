// Message templates (catalogue.ts): their placeholders, read by TypeScript from a template's literal type so
// that every call of `diagnostic()` names exactly the placeholders of its code's template, and filled in at
// run time. `{name}` is a placeholder when `name` is letters, digits and `_`; other braces are literal.
import type { catalogue, DiagnosticName, Template } from "./catalogue.js";

/** A value a placeholder takes: text (names in backticks, described values) or an exact number. */
export type MessageArg = string | number | bigint;

/** Characters no placeholder name holds, so `{ … }` in a message stays literal (a runtime test checks that
 *  this agrees with `placeholdersOf`). */
type NotInName = " " | "…" | "," | "." | "{" | "`" | "(" | ")" | "'" | '"' | ":" | "=" | "-" | "<" | ">";

type PlaceholderName<P extends string> = P extends "" ? never : P extends `${string}${NotInName}${string}` ? never : P;

/** The placeholder names of a template: `Placeholders<"unknown layer `{name}`">` is `"name"`. */
export type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}`
  ? PlaceholderName<P> | Placeholders<Rest>
  : never;

/** The arguments of one template: one per placeholder, no more. */
export type TemplateArgs<S extends string> = { readonly [K in Placeholders<S>]: MessageArg };

type TemplatesOf<N extends DiagnosticName> = (typeof catalogue)[N] extends { readonly message: infer M } ? M : never;

/** What a templated call passes for code `N`: the arguments of its template, or `[variant, arguments]` when
 *  the code has several wordings. */
export type MessageArgs<N extends DiagnosticName> = N extends DiagnosticName
  ? TemplatesOf<N> extends string
    ? TemplateArgs<TemplatesOf<N>>
    : TemplatesOf<N> extends Readonly<Record<string, string>>
      ? {
          [V in keyof TemplatesOf<N> & string]: readonly [V, TemplateArgs<TemplatesOf<N>[V] & string>];
        }[keyof TemplatesOf<N> & string]
      : never
  : never;

/** The variant names of a code with several wordings. */
export type Variant<N extends DiagnosticName> = TemplatesOf<N> extends string ? never : keyof TemplatesOf<N> & string;

const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The placeholder names of a template, in order of first use. */
export function placeholdersOf(template: Template): string[] {
  return [...new Set([...template.matchAll(placeholder)].map((m) => m[1]!))];
}

/** A template cut at its placeholders: literal text at even indices, placeholder names at odd ones. */
const compiled = new Map<Template, readonly string[]>();

function partsOf(template: Template): readonly string[] {
  let parts = compiled.get(template);
  if (parts === undefined) {
    parts = template.split(placeholder);
    compiled.set(template, parts);
  }
  return parts;
}

/** `template` with each placeholder replaced by its argument (one pass: an argument's own text is never
 *  read as a placeholder). A placeholder without an argument stays as written (the type checker and
 *  test/catalogue.test.ts keep that from happening). Templates are cut once, so a flood of diagnostics
 *  costs what writing the messages inline did. */
export function fillTemplate(template: Template, args: Readonly<Record<string, MessageArg>>): string {
  const parts = partsOf(template);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    out += (Object.hasOwn(args, name) ? String(args[name]) : `{${name}}`) + parts[i + 1]!;
  }
  return out;
}
