// Incremental parsing for the language server: a keystroke changes one top-level item, so only that item
// is parsed again. Parsing is most of a check (about 70 % of `checkProgram` on a 10,000-line spec), so this
// is what keeps a keystroke in a large file cheap.
//
// The text is cut before every line that starts, at column 0, with `model`, `block`, `const` or `import`.
// Each piece is parsed on its own (cached by its text) and its AST moved to the piece's place (offsets and
// line numbers shifted; columns are unchanged, as every piece starts a line). The result is used only when
// every piece parses cleanly: then the file is the concatenation of its items (a cut inside brackets leaves
// a piece with an unclosed bracket, a syntax error). Otherwise — any error, too many tokens, a single
// piece — the whole file is parsed by `parse`, so diagnostics are always the full parser's.
// test/lsp-incremental.test.ts checks the two agree, spans included, on every example and on fuzzed files.
import type { Result, Span } from "../diagnostics/diagnostic.js";
import { SourceText } from "../diagnostics/source.js";
import type { FileNode, Item } from "../syntax/ast.js";
import { limits, parse, tokenLowerBound, type ParseOutput } from "../syntax/parse.js";

interface Piece {
  readonly text: string;
  readonly offset: number;
  /** 0-based line of the piece's first character. */
  readonly line: number;
}

interface Parsed {
  /** Items as parsed from the piece alone (spans relative to it). */
  readonly items: readonly Item[];
  /** The items as last placed (reused while the piece does not move). */
  placed?: { readonly offset: number; readonly line: number; readonly items: readonly Item[] };
}

const itemStart = /^(?:model|block|const|import)\b/;

/** Cuts a text into pieces, each starting a line (see above). */
export function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  let startLine = 0;
  let line = 0;
  let i = 0;
  while (i <= text.length) {
    // `i` is the start of a line.
    if (i > start && itemStart.test(text.slice(i, i + 7))) {
      out.push({ text: text.slice(start, i), offset: start, line: startLine });
      start = i;
      startLine = line;
    }
    let j = i;
    while (j < text.length && text.charCodeAt(j) !== 10 && text.charCodeAt(j) !== 13) j++;
    if (j >= text.length) break;
    j += text.charCodeAt(j) === 13 && text.charCodeAt(j + 1) === 10 ? 2 : 1;
    line++;
    i = j;
  }
  out.push({ text: text.slice(start), offset: start, line: startLine });
  return out;
}

/** A deep copy of AST values with every span moved by `offset` characters and `lines` lines. (The builder
 *  shares nothing but span objects, whose identity nothing relies on.) */
function moved<T>(value: T, offset: number, lines: number): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = moved(value[i], offset, lines);
    return out as T;
  }
  const v = value as Record<string, unknown>;
  if (typeof v["endColumn"] === "number" && typeof v["file"] === "string") {
    const s = value as unknown as Span;
    return {
      file: s.file,
      start: s.start + offset,
      end: s.end + offset,
      line: s.line + lines,
      column: s.column,
      endLine: s.endLine + lines,
      endColumn: s.endColumn,
    } as T;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = moved(v[k], offset, lines);
  return out as T;
}

export class IncrementalParser {
  /** Per file: the pieces of its last parse, by text. */
  private readonly cache = new Map<string, Map<string, Parsed>>();

  /** Same result as `parse(text, file)` (comments aside: an incremental parse returns none; the formatter
   *  parses on its own). */
  readonly parse = (text: string, file: string): Result<ParseOutput> => {
    const full = (): Result<ParseOutput> => parse(text, file);
    if (tokenLowerBound(text) > limits.maxTokens) return full();
    const cut = pieces(text);
    if (cut.length < 2) return full();
    const known = this.cache.get(file) ?? new Map<string, Parsed>();
    const next = new Map<string, Parsed>();
    const items: Item[] = [];
    for (const piece of cut) {
      let parsed = next.get(piece.text) ?? known.get(piece.text);
      if (!parsed) {
        const p = parse(piece.text, file);
        if (p.diagnostics.length > 0 || !p.value.ast) return full();
        parsed = { items: p.value.ast.items };
      }
      next.set(piece.text, parsed);
      const placed = parsed.placed;
      if (placed && placed.offset === piece.offset && placed.line === piece.line) items.push(...placed.items);
      else {
        const shifted = moved(parsed.items, piece.offset, piece.line);
        // A piece that occurs twice is placed twice; the cache keeps the last place.
        parsed.placed = { offset: piece.offset, line: piece.line, items: shifted };
        items.push(...shifted);
      }
    }
    if (items.length === 0) return full();
    this.cache.set(file, next);
    const source = new SourceText(file, text);
    const first = items[0]!.span;
    const last = items[items.length - 1]!.span;
    const ast: FileNode = { kind: "File", items, span: source.span(first.start, last.end) };
    return { value: { ast, comments: [], source }, diagnostics: [] };
  };

  forget(file: string): void {
    this.cache.delete(file);
  }
}
