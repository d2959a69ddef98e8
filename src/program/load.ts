// Loads an entry file and everything it imports, parsing each file once. Reports missing files and import
// cycles. Reading goes through a `Host`, so tests and stdin need no file system.
import path from "node:path";
import type { IToken } from "chevrotain";
import { diagnostic, type Diagnostic, type Label, type Result } from "../diagnostics/diagnostic.js";
import { SourceText } from "../diagnostics/source.js";
import type { FileNode, ImportDecl } from "../syntax/ast.js";
import { parse, type ParseOutput } from "../syntax/parse.js";

import type { Host } from "./host.js";

export type { Host, ReadResult } from "./host.js";

export interface LoadedFile {
  /** The name used in diagnostics: as given on the command line, or resolved from an import. */
  readonly file: string;
  readonly source: SourceText;
  /** `null` when the file has syntax errors. */
  readonly ast: FileNode | null;
  readonly comments: readonly IToken[];
  /** Each import of this file and the loaded file it names (undefined when it could not be loaded). */
  readonly imports: readonly { decl: ImportDecl; target: string | undefined }[];
}

export interface Program {
  readonly entry: string;
  /** Every file, entry first, then imports in the order they were first met. */
  readonly files: ReadonlyMap<string, LoadedFile>;
}

/** The name `-` stands for standard input; its imports cannot be resolved. */
export const stdinName = "<stdin>";

/** How a file's text becomes its AST: `parse`, or a parser with the same results that reuses earlier work
 *  (the language server's, src/lsp/incremental.ts). */
export type ParseFile = (text: string, file: string) => Result<ParseOutput>;

/**
 * Loads `entry` (whose text is `text` when given, else read through the host) and, transitively, its
 * imports. Never throws.
 */
export function load(entry: string, host: Host, text?: string, parseFile: ParseFile = parse): Result<Program> {
  const files = new Map<string, LoadedFile>();
  const diagnostics: Diagnostic[] = [];

  const visit = (file: string, given: string | undefined, chain: { file: string; decl: ImportDecl }[]): void => {
    if (files.has(file)) return;
    let content = given;
    if (content === undefined) {
      const read = host.readFile(file);
      if (!read.ok) {
        const via = chain[chain.length - 1];
        if (via) {
          diagnostics.push(
            diagnostic(read.invalidUtf8 ? "InvalidUtf8" : "ImportNotFound", via.decl.path.span, `cannot import \`${via.decl.path.value}\`: ${read.reason}`, {
              notes: [`looked for ${file}`],
            }),
          );
        } else {
          diagnostics.push(diagnostic(read.invalidUtf8 ? "InvalidUtf8" : "FileNotReadable", undefined, `cannot read ${file}: ${read.reason}`));
        }
        return;
      }
      content = read.text;
    }
    const parsed = parseFile(content, file);
    for (const d of parsed.diagnostics) diagnostics.push(d);
    const imports: { decl: ImportDecl; target: string | undefined }[] = [];
    const loaded: LoadedFile = {
      file,
      source: parsed.value.source,
      ast: parsed.value.ast,
      comments: parsed.value.comments,
      imports,
    };
    files.set(file, loaded);
    for (const item of parsed.value.ast?.items ?? []) {
      if (item.kind !== "Import") continue;
      if (file === stdinName && !path.isAbsolute(item.path.value)) {
        diagnostics.push(
          diagnostic("ImportFromStdin", item.path.span, "a spec read from standard input cannot import a relative path", {
            help: "pass the file name instead of `-`",
          }),
        );
        imports.push({ decl: item, target: undefined });
        continue;
      }
      const target = path.normalize(path.join(path.dirname(file), item.path.value));
      const cycleStart = chain.findIndex((c) => c.file === target);
      if (target === file || cycleStart !== -1 || (chain.length === 0 && target === entry)) {
        const steps = [...chain.slice(cycleStart === -1 ? chain.length : cycleStart), { file, decl: item }];
        const labels: Label[] = steps.slice(0, -1).map((s) => ({ span: s.decl.path.span, message: `${s.file} imports this` }));
        diagnostics.push(
          diagnostic("ImportCycle", item.path.span, `import cycle: ${[...steps.map((s) => s.file), target].join(" → ")}`, {
            labels,
            help: "move the shared blocks into a file that both import",
          }),
        );
        imports.push({ decl: item, target: undefined });
        continue;
      }
      visit(target, undefined, [...chain, { file, decl: item }]);
      imports.push({ decl: item, target: files.has(target) ? target : undefined });
    }
  };

  visit(entry, text, []);
  return { value: { entry, files }, diagnostics };
}
