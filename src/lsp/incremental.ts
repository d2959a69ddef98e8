// Incremental parsing for the language server: a keystroke changes one top-level item, so only that item
// is parsed again. Parsing is most of a check (about 70 % of `checkProgram` on a 10,000-line spec), so this
// is what keeps a keystroke in a large file cheap.
//
// The text is cut before every line that starts, at column 0, with `model`, `block`, `const` or `import`.
// Each piece is parsed on its own (cached by its text) and its AST moved to the piece's place (offsets and
// line numbers shifted; columns are unchanged, as every piece starts a line), in place: a reused piece keeps
// its nodes, which is what lets later stages recognise unchanged items, and costs no copy. The result is used only when
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
  /** The piece's items where they were last placed: a deep copy of the piece's own parse (no object shared
   *  with another piece or within the piece), its spans moved in place when the piece moves. */
  readonly items: readonly Item[];
  offset: number;
  line: number;
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
    const c = text.charCodeAt(i);
    // m, b, c, i: the first letters of the keywords (most lines start with a space).
    if (i > start && (c === 109 || c === 98 || c === 99 || c === 105) && itemStart.test(text.slice(i, i + 7))) {
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

/** Moves every span in `value` by `offset` characters and `lines` lines, in place. Every span object must
 *  occur once (`moved` makes such copies). */
function shift(value: unknown, offset: number, lines: number): void {
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) shift(value[i], offset, lines);
    return;
  }
  const v = value as Record<string, unknown>;
  if (typeof v["endColumn"] === "number" && typeof v["file"] === "string") {
    const s = value as { start: number; end: number; line: number; endLine: number };
    s.start += offset;
    s.end += offset;
    s.line += lines;
    s.endLine += lines;
    return;
  }
  for (const k in v) shift(v[k], offset, lines);
}

/** Moves every span in the items of a fresh parse by `offset` characters and `lines` lines, in place, and
 *  unshares them: a span object met a second time (the builder shares some) is replaced by a copy, so that
 *  `shift` may later move each exactly once. */
function place(value: unknown, offset: number, lines: number, seen: Set<object>): void {
  if (typeof value !== "object" || value === null) return;
  const v = value as Record<string, unknown>;
  const visit = (child: unknown): unknown => {
    if (typeof child !== "object" || child === null) return child;
    const c = child as Record<string, unknown>;
    if (typeof c["endColumn"] === "number" && typeof c["file"] === "string") {
      if (seen.has(c)) return { ...c };
      seen.add(c);
      const s = c as { start: number; end: number; line: number; endLine: number };
      s.start += offset;
      s.end += offset;
      s.line += lines;
      s.endLine += lines;
      return c;
    }
    place(c, offset, lines, seen);
    return c;
  };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const next = visit(value[i]);
      if (next !== value[i]) value[i] = next;
    }
    return;
  }
  for (const k in v) {
    const next = visit(v[k]);
    if (next !== v[k]) v[k] = next;
  }
}

/** Parses texts, reusing the items of unchanged pieces (see above). One instance per entry document: an
 *  AST it returns stays true only until its next parse of the same file, which moves the reused items'
 *  spans in place (no copy), so that nothing else may keep it (the workspace replaces the document's
 *  analysis in the same call). */
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
    // First parse every new piece; nothing is moved unless all of them parse.
    const fresh = new Map<string, readonly Item[]>();
    for (const piece of cut) {
      if (known.has(piece.text) || fresh.has(piece.text)) continue;
      const p = parse(piece.text, file);
      if (p.diagnostics.length > 0 || !p.value.ast) return full();
      fresh.set(piece.text, p.value.ast.items);
    }
    const items: Item[] = [];
    for (const piece of cut) {
      const again = next.get(piece.text);
      if (again) {
        // A piece that occurs twice: the cache keeps the first place, the others are copies.
        items.push(...moved(again.items, piece.offset - again.offset, piece.line - again.line));
        continue;
      }
      let parsed = known.get(piece.text);
      if (parsed) {
        if (parsed.offset !== piece.offset || parsed.line !== piece.line) {
          shift(parsed.items, piece.offset - parsed.offset, piece.line - parsed.line);
          parsed.offset = piece.offset;
          parsed.line = piece.line;
        }
      } else {
        const items = fresh.get(piece.text)!;
        place(items, piece.offset, piece.line, new Set());
        parsed = { items, offset: piece.offset, line: piece.line };
      }
      next.set(piece.text, parsed);
      items.push(...parsed.items);
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
