// `nnc fmt`: parse, then print in canonical form (see print.ts and grammar/README.md, "Canonical form").
// Never throws on user input: a file that does not parse yields `value: null` and the parse diagnostics.
import type { IToken } from "chevrotain";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import type { FileNode } from "../syntax/ast.js";
import { parse } from "../syntax/parse.js";
import { print } from "./print.js";

export interface FormatResult {
  /** The canonical text; null when the file does not parse (or, for a printer bug, NN0007). */
  readonly value: string | null;
  readonly diagnostics: readonly Diagnostic[];
  readonly source: SourceText;
}

export function format(text: string, file: string): FormatResult {
  const parsed = parse(text, file);
  const { ast, comments, source } = parsed.value;
  if (ast === null) return { value: null, diagnostics: parsed.diagnostics, source };
  // A printer bug must neither crash `nnc fmt` nor damage a file: the canonical text must parse to the
  // same tree with the same comments, or nothing is written and the fault is reported (NN0007).
  const fault = (why: string): FormatResult => ({
    value: null,
    diagnostics: [
      ...parsed.diagnostics,
      diagnostic(
        "FormatterFault",
        source.span(0, 0),
        { file, why },
        {
          help: "the file was left unchanged; please report this with the file attached",
        },
      ),
    ],
    source,
  });
  let out: string;
  try {
    out = print(ast, comments, text);
  } catch (error) {
    return fault(`the printer failed (${error instanceof Error ? error.message : String(error)})`);
  }
  const again = parse(out, file);
  if (again.value.ast === null) return fault("its output does not parse");
  if (!sameTree(ast, again.value.ast)) return fault("its output means something else");
  if (!sameComments(comments, again.value.comments)) return fault("its output loses or reorders comments");
  return { value: out, diagnostics: parsed.diagnostics, source };
}

/** The tree without positions, as a string (bigints as decimal strings). */
export function treeKey(ast: FileNode): string {
  return JSON.stringify(ast, (key, value: unknown) =>
    key === "span" ? undefined : typeof value === "bigint" ? value.toString() : value,
  );
}

function sameTree(a: FileNode, b: FileNode): boolean {
  return treeKey(a) === treeKey(b);
}

function sameComments(a: readonly IToken[], b: readonly IToken[]): boolean {
  return a.length === b.length && a.every((c, i) => c.image.trimEnd() === b[i]?.image.trimEnd());
}
