// Source texts and offset → line/column conversion, shared by the parser (for spans it synthesizes) and the
// renderer (for code frames).
import type { Span } from "./diagnostic.js";

export class SourceText {
  private readonly starts: number[];
  /** The line the last lookup found (see `lineIndex`). */
  private lastLine = 0;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13 && text.charCodeAt(i + 1) !== 10) this.starts.push(i + 1);
    }
  }

  get lineCount(): number {
    return this.starts.length;
  }

  /** 1-based line and column of an offset (clamped to the text). */
  position(offset: number): { line: number; column: number } {
    const o = this.clamp(offset);
    const line = this.lineIndex(o);
    return { line: line + 1, column: o - this.starts[line]! + 1 };
  }

  span(start: number, end: number): Span {
    const a = this.clamp(start);
    const b = this.clamp(end);
    const la = this.lineIndex(a);
    const lb = this.lineIndex(b);
    return {
      file: this.file,
      start,
      end,
      line: la + 1,
      column: a - this.starts[la]! + 1,
      endLine: lb + 1,
      endColumn: b - this.starts[lb]! + 1,
    };
  }

  private clamp(offset: number): number {
    return Math.max(0, Math.min(offset, this.text.length));
  }

  /** The line (0-based) holding an offset: the last line asked about, or its neighbour (the parser asks in
   *  nearly increasing order), else a binary search. */
  private lineIndex(o: number): number {
    const starts = this.starts;
    let line = this.lastLine;
    if (starts[line]! <= o && (line + 1 >= starts.length || o < starts[line + 1]!)) return line;
    line++;
    if (line < starts.length && starts[line]! <= o && (line + 1 >= starts.length || o < starts[line + 1]!)) {
      this.lastLine = line;
      return line;
    }
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    this.lastLine = lo;
    return lo;
  }

  /** The text of a 1-based line, without its line break. */
  lineText(line: number): string {
    const start = this.starts[line - 1];
    if (start === undefined) return "";
    const next = this.starts[line];
    let end = next === undefined ? this.text.length : next;
    while (end > start && (this.text[end - 1] === "\n" || this.text[end - 1] === "\r")) end--;
    return this.text.slice(start, end);
  }
}
