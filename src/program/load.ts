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

/** Where an import's path leads from the file that names it: an absolute path as it is, a relative one
 *  against the importing file's directory. */
export function importTarget(importer: string, written: string): string {
  return path.isAbsolute(written)
    ? path.normalize(written)
    : path.normalize(path.join(path.dirname(importer), written));
}

/** A file being loaded: its imports are visited in order, one at a time, from an explicit stack (so an
 *  import chain thousands of files long needs no recursion). */
interface Frame {
  readonly file: string;
  readonly items: readonly ImportDecl[];
  next: number;
  readonly imports: { decl: ImportDecl; target: string | undefined }[];
  /** The import of this file's importer that led here (undefined for the entry). */
  readonly via: ImportDecl | undefined;
}
/** How a file's text becomes its AST: `parse`, or a parser with the same results that reuses earlier work
 *  (the language server's, src/lsp/incremental.ts). */
export type ParseFile = (text: string, file: string) => Result<ParseOutput>;

/**
 * Loads `entry` (whose text is `text` when given, else read through the host) and, transitively, its
 * imports, depth first in source order. Never throws; its depth is bounded by the heap, not the stack.
 */
export function load(entry: string, host: Host, text?: string, parseFile: ParseFile = parse): Result<Program> {
  const files = new Map<string, LoadedFile>();
  const diagnostics: Diagnostic[] = [];
  const stack: Frame[] = [];
  /** Position in `stack` of each file being loaded (the current import chain). */
  const onStack = new Map<string, number>();

  /** Reads and parses `file` and pushes its frame; reports it when it cannot be read. */
  const enter = (file: string, given: string | undefined, via: ImportDecl | undefined): void => {
    let content = given;
    if (content === undefined) {
      const read = host.readFile(file);
      if (!read.ok) {
        if (via) {
          const args = { path: via.path.value, reason: read.reason };
          const options = {
            notes: [`looked for ${file}`],
            ...(read.outsideRoot ? { help: "move the file under the root directory, or give a wider `--root`" } : {}),
          };
          const unread = read.outsideRoot ? "ImportOutsideRoot" : read.exists ? "ImportUnreadable" : "ImportNotFound";
          diagnostics.push(
            read.invalidUtf8
              ? diagnostic("InvalidUtf8", via.path.span, ["import", args], options)
              : diagnostic(unread, via.path.span, args, options),
          );
        } else {
          diagnostics.push(
            diagnostic(read.invalidUtf8 ? "InvalidUtf8" : "FileNotReadable", undefined, [
              "read",
              { file, reason: read.reason },
            ]),
          );
        }
        return;
      }
      content = read.text;
    }
    const parsed = parseFile(content, file);
    for (const d of parsed.diagnostics) diagnostics.push(d);
    const imports: { decl: ImportDecl; target: string | undefined }[] = [];
    files.set(file, {
      file,
      source: parsed.value.source,
      ast: parsed.value.ast,
      comments: parsed.value.comments,
      imports,
    });
    const items = (parsed.value.ast?.items ?? []).filter((item): item is ImportDecl => item.kind === "Import");
    onStack.set(file, stack.length);
    stack.push({ file, items, next: 0, imports, via });
  };

  enter(entry, text, undefined);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const item = frame.items[frame.next++];
    if (item === undefined) {
      stack.pop();
      onStack.delete(frame.file);
      continue;
    }
    const { file, imports } = frame;
    if (file === stdinName && !path.isAbsolute(item.path.value)) {
      diagnostics.push(
        diagnostic(
          "ImportFromStdin",
          item.path.span,
          {},
          {
            help: "pass the file name instead of `-`, or import an absolute path",
          },
        ),
      );
      imports.push({ decl: item, target: undefined });
      continue;
    }
    const target = importTarget(file, item.path.value);
    const cycleStart = onStack.get(target);
    if (cycleStart !== undefined) {
      const steps = [
        ...stack
          .slice(cycleStart)
          .map((f, i, all) => ({ file: f.file, decl: i + 1 < all.length ? all[i + 1]!.via! : item })),
      ];
      const labels: Label[] = steps
        .slice(0, -1)
        .map((s) => ({ span: s.decl.path.span, message: `${s.file} imports this` }));
      diagnostics.push(
        diagnostic(
          "ImportCycle",
          item.path.span,
          { files: [...steps.map((s) => s.file), target].join(" → ") },
          {
            labels,
            help: "move the shared blocks into a file that both import",
          },
        ),
      );
      imports.push({ decl: item, target: undefined });
      continue;
    }
    // The target is filled in below, once every file is loaded: undefined when it could not be read.
    imports.push({ decl: item, target });
    if (!files.has(target)) enter(target, undefined, item);
  }
  for (const loaded of files.values()) {
    const imports = loaded.imports as { decl: ImportDecl; target: string | undefined }[];
    for (const i of imports) if (i.target !== undefined && !files.has(i.target)) i.target = undefined;
  }
  return { value: { entry, files }, diagnostics };
}
