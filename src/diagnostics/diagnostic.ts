// The shape of a diagnostic, shared by every stage. A stage never throws on user input: it returns its
// value together with a list of these.
import { catalogue, type CatalogueEntry, type DiagnosticName, type Severity } from "./catalogue.js";
import { fillTemplate, type MessageArg, type MessageArgs } from "./message.js";

export type { Severity } from "./catalogue.js";

/** A range of source text. Offsets are UTF-16 code-unit offsets into the file's text, `end` exclusive.
 *  Lines and columns are 1-based; `endColumn` is exclusive. */
export interface Span {
  readonly file: string;
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export interface Label {
  readonly span: Span;
  readonly message: string;
}

export interface Diagnostic {
  /** Stable code from the catalogue, e.g. `NN1002`. */
  readonly code: string;
  readonly severity: Severity;
  /** Lowercase, no final period (see ARCHITECTURE.md, "Message style"). */
  readonly message: string;
  /** The primary span: as small as possible. Absent only for diagnostics about no file at all (CLI usage). */
  readonly span?: Span;
  /** Secondary spans: "the other side" of a mismatch, where a shape came from, … */
  readonly labels: readonly Label[];
  /** A suggested fix, printed as `help: …`. */
  readonly help?: string;
  /** Extra facts, printed as `note: …`. */
  readonly notes: readonly string[];
}

export interface DiagnosticOptions {
  labels?: readonly Label[];
  help?: string | undefined;
  notes?: readonly string[];
}

/** Builds a diagnostic of a catalogued kind. The code, severity and message template come from the catalogue
 *  only; the call gives the template's arguments (`{ name: "x" }`), or `[variant, arguments]` for a code with
 *  several wordings, never a whole message. */
export function diagnostic<N extends DiagnosticName>(
  name: N,
  span: Span | undefined,
  message: MessageArgs<N>,
  options: DiagnosticOptions = {},
): Diagnostic {
  const entry: CatalogueEntry = catalogue[name];
  return {
    code: entry.code,
    severity: entry.severity,
    message: messageText(name, entry, message),
    ...(span ? { span } : {}),
    labels: options.labels ?? [],
    ...(options.help !== undefined ? { help: options.help } : {}),
    notes: options.notes ?? [],
  };
}

function messageText(name: string, entry: CatalogueEntry, message: unknown): string {
  const templates = entry.message;
  let template: string | undefined;
  let args: unknown = message;
  if (Array.isArray(message)) {
    const [variant, variantArgs] = message as [string, unknown];
    template = typeof templates === "object" ? templates[variant] : undefined;
    args = variantArgs;
  } else if (typeof templates === "string") {
    template = templates;
  }
  // Unreachable through the types; a visible message rather than a throw if it is ever reached.
  if (template === undefined)
    return `${name}: no message template${Array.isArray(message) ? ` \`${String(message[0])}\`` : ""}`;
  return fillTemplate(template, args as Record<string, MessageArg>);
}

/** A message made before its place is known: a code (one of `N`) with its template's arguments. */
export type Message<N extends DiagnosticName = DiagnosticName> = {
  readonly [K in N]: readonly [K, MessageArgs<K>];
}[N];

/** `diagnostic()` of a `Message`. */
export function diagnosticOf(message: Message, span: Span | undefined, options: DiagnosticOptions = {}): Diagnostic {
  // The pair's code and arguments belong together (the type of `Message`), which TypeScript cannot follow
  // through a call that is generic in the code.
  return diagnostic(message[0], span, message[1] as never, options);
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** A stage's result: its value (possibly partial) and what it found wrong. */
export interface Result<T> {
  readonly value: T;
  readonly diagnostics: readonly Diagnostic[];
}

/** Sorts diagnostics by file, then position, keeping the order of equal positions (stable). */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const fa = a.d.span?.file ?? "";
      const fb = b.d.span?.file ?? "";
      if (fa !== fb) return fa < fb ? -1 : 1;
      const sa = a.d.span?.start ?? -1;
      const sb = b.d.span?.start ?? -1;
      return sa - sb || a.i - b.i;
    })
    .map((x) => x.d);
}

/** At most `max` diagnostics, then a note saying how many more were found (errors are never hidden
 *  without saying so). Expects sorted input; the note comes last. */
export function capDiagnostics(diagnostics: readonly Diagnostic[], max: number): Diagnostic[] {
  if (diagnostics.length <= max) return [...diagnostics];
  const rest = diagnostics.slice(max);
  const errors = rest.filter((d) => d.severity === "error").length;
  return [
    ...diagnostics.slice(0, max),
    diagnostic(
      "TooManyDiagnostics",
      undefined,
      [
        "diagnostics",
        { count: rest.length, s: rest.length === 1 ? "" : "s", errors, errorsS: errors === 1 ? "" : "s" },
      ],
      {
        help: "fix the ones above first; many of the rest may follow from them",
      },
    ),
  ];
}
