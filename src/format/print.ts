// The canonical printer behind `nnc fmt`: AST + comment tokens + source text → canonical text. The rules are
// written down in grammar/README.md, "Canonical form". The printer is pure and never throws on an AST the
// parser built.
//
// Comments are not in the AST; they are placed by position. The printer walks the tree in source order with
// a cursor into the (sorted) comment list, and every placement decision only ever takes the next comments
// off that cursor, so each comment is printed exactly once and in its original order:
//   - comments before a statement (or item) print on their own lines before it;
//   - comments inside a statement but before its first `{ … }` body ("head" comments, e.g. between the
//     arguments of a multi-line call) also print before it;
//   - comments after a body's `}` but still inside the statement print at the end of that body;
//   - a comment on the same line right after a statement stays at the end of its last printed line (of
//     its first line, after the `{`, when a one-line statement prints over several lines);
//   - a comment on the line of a body's `{`, before its first statement, stays after the `{`;
//   - comments after the last statement of a body go before its `}`; after the last item, at the end.
// Blank lines come from the source: one blank line wherever the author had one or more between two printed
// things (statements or own-line comments), plus always one around a `block` or `model` at file level.
// Stages written next to each other are printed so that they are read back as separate stages (see `flow`).
import type { IToken } from "chevrotain";
import * as A from "../syntax/ast.js";

const indentUnit = "  ";

/** Prints a whole file in canonical form: `text` is the source the AST and comments were parsed from. */
export function print(ast: A.FileNode, comments: readonly IToken[], text: string): string {
  return new Printer(text, comments).file(ast);
}

/** Prints one expression in canonical form (a one-line body literal prints on one line; no comments). */
export function printExpr(e: A.Expr): string {
  return new Printer("", []).expr(e, 0);
}

interface Comment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

interface Spanned {
  readonly span: A.Body["span"];
}

const lineBreak = /\r\n|\r|\n/g;

function isBody(x: unknown): x is A.Body {
  return typeof x === "object" && x !== null && Array.isArray((x as { statements?: unknown }).statements);
}

/** The `{ … }` bodies directly inside a node (not inside another body), in source order. */
function directBodies(node: unknown): A.Body[] {
  const out: A.Body[] = [];
  const walk = (x: unknown): void => {
    if (typeof x !== "object" || x === null) return;
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    if (isBody(x)) {
      out.push(x);
      return;
    }
    for (const [key, value] of Object.entries(x)) if (key !== "span") walk(value);
  };
  walk(node);
  return out.sort((a, b) => a.span.start - b.span.start);
}

/** Whether a statement prints on one line (inside a one-line body literal): no non-empty container body. */
function fitsOneLine(node: unknown): boolean {
  if (typeof node !== "object" || node === null) return true;
  if (Array.isArray(node)) return node.every(fitsOneLine);
  const n = node as { kind?: string; body?: unknown };
  if (n.kind === "BodyLit") return (n.body as A.Body).statements.every(fitsOneLine);
  if ((n.kind === "ExprStage" || n.kind === "Repeat") && isBody(n.body) && n.body.statements.length > 0) return false;
  for (const [key, value] of Object.entries(node)) if (key !== "span" && !fitsOneLine(value)) return false;
  return true;
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function isBig(item: A.Item): boolean {
  return item.kind === "Block" || item.kind === "Model";
}

class Printer {
  private readonly comments: Comment[];
  /** Index of the next comment not yet printed. */
  private next = 0;
  /** How far each body extends for comment placement (its own end, or up to the next body of its statement). */
  private readonly limits = new Map<A.Body, number>();

  /** Marks where a trailing comment starts, so that runs of them can be aligned at the end. A character
   *  the source never contains (else plain two spaces, unaligned). */
  private readonly alignMark: string;

  constructor(
    private readonly text: string,
    tokens: readonly IToken[],
  ) {
    this.alignMark = text.includes("\u0001") ? "  " : "\u0001";
    this.comments = tokens
      .filter((t) => Number.isFinite(t.startOffset))
      .map((t) => ({
        start: t.startOffset,
        end:
          t.endOffset !== undefined && Number.isFinite(t.endOffset) ? t.endOffset + 1 : t.startOffset + t.image.length,
        text: t.image.trimEnd(),
      }))
      .sort((a, b) => a.start - b.start);
  }

  // ── comment cursor ─────────────────────────────────────────────────────────────────────────────────

  private peek(): Comment | undefined {
    return this.comments[this.next];
  }

  /** Takes the next comment if it starts before `limit`. */
  private takeBefore(limit: number): Comment | undefined {
    const c = this.peek();
    if (c === undefined || c.start >= limit) return undefined;
    this.next++;
    return c;
  }

  private hasCommentBefore(limit: number): boolean {
    const c = this.peek();
    return c !== undefined && c.start < limit;
  }

  private lineBreaks(from: number, to: number): number {
    if (to <= from) return 0;
    return this.text.slice(from, to).match(lineBreak)?.length ?? 0;
  }

  /** Whether the author left a blank line between `from` and `to`. */
  private blankBetween(from: number, to: number): boolean {
    return this.lineBreaks(from, to) >= 2;
  }

  /** Takes the comment right after `end` on the same line, before `limit` (a trailing comment). */
  private trailing(end: number, limit: number): Comment | undefined {
    const c = this.peek();
    if (c === undefined || c.start < end || c.start >= limit || this.lineBreaks(end, c.start) > 0) return undefined;
    this.next++;
    return c;
  }

  /** Registers how far each direct body of `node` extends for comments, and returns where its head ends. */
  private prepare(node: Spanned): number {
    const bodies = directBodies(node);
    for (let i = 0; i < bodies.length; i++) {
      const body = bodies[i]!;
      this.limits.set(body, Math.max(body.span.end, bodies[i + 1]?.span.start ?? node.span.end));
    }
    return bodies[0]?.span.start ?? node.span.end;
  }

  /**
   * Prints a sequence of statements or items with their comments into `lines` at `depth`.
   * `from` is where the first element may start (after the `{`, or 0), `limit` where the enclosing body ends.
   */
  private sequence<T extends Spanned>(
    elements: readonly T[],
    depth: number,
    from: number,
    limit: number,
    lines: string[],
    render: (e: T, depth: number) => string,
    forceBlank: (previous: T, e: T) => boolean = () => false,
  ): void {
    const ind = indentUnit.repeat(depth);
    let lastEnd = from;
    const push = (line: string, blank: boolean): void => {
      if (blank && lines.length > 0) lines.push("");
      lines.push(line === "" ? "" : ind + line);
    };
    let previous: T | undefined;
    for (let i = 0; i < elements.length; i++) {
      const e = elements[i]!;
      let force = previous !== undefined && forceBlank(previous, e);
      // Comments on their own lines before the element.
      for (let c = this.takeBefore(e.span.start); c; c = this.takeBefore(e.span.start)) {
        push(c.text, force || this.blankBetween(lastEnd, c.start));
        force = false;
        lastEnd = c.end;
      }
      const blank = force || this.blankBetween(lastEnd, e.span.start);
      // Comments inside the element before its first body: moved to the lines before it.
      const headEnd = this.prepare(e);
      let first = true;
      for (let c = this.takeBefore(headEnd); c; c = this.takeBefore(headEnd)) {
        push(c.text, first && blank);
        first = false;
      }
      let line = render(e, depth);
      const nextStart = elements[i + 1]?.span.start ?? limit;
      // Comments inside the element that no body took (none, for an AST the parser built): keep them, in
      // order, on their own lines after it.
      const rest: Comment[] = [];
      for (let c = this.takeBefore(e.span.end); c; c = this.takeBefore(e.span.end)) rest.push(c);
      lastEnd = e.span.end;
      const t = rest.length === 0 ? this.trailing(e.span.end, nextStart) : undefined;
      if (t) {
        // A one-line statement that prints over several lines (`repeat 2 { Block(64) }  # …`) keeps its
        // comment on its first line, after the `{`; there it reads as the body's opening comment and stays.
        const nl = line.indexOf("\n");
        const mark = this.alignMark;
        if (nl >= 0 && this.lineBreaks(e.span.start, e.span.end) === 0)
          line = `${line.slice(0, nl)}${mark}${t.text}${line.slice(nl)}`;
        else line += `${mark}${t.text}`;
        lastEnd = t.end;
      }
      push(line, first && blank);
      for (const c of rest) push(c.text, false);
      previous = e;
    }
    // Comments after the last element.
    for (let c = this.takeBefore(limit); c; c = this.takeBefore(limit)) {
      push(c.text, this.blankBetween(lastEnd, c.start));
      lastEnd = c.end;
    }
  }

  // ── file and items ─────────────────────────────────────────────────────────────────────────────────

  file(ast: A.FileNode): string {
    const lines: string[] = [];
    this.sequence(
      ast.items,
      0,
      0,
      Infinity,
      lines,
      (item) => this.item(item),
      (previous, item) => isBig(previous) || isBig(item),
    );
    return lines.length === 0 ? "" : `${alignTrailingComments(lines.join("\n"), this.alignMark)}\n`;
  }

  private item(item: A.Item): string {
    switch (item.kind) {
      case "Import": {
        const path = quote(item.path.value);
        if (item.names === null) return `import ${path}`;
        return `import { ${item.names.map((n) => n.name).join(", ")} } from ${path}`;
      }
      case "Const":
        return this.statement(item, 0);
      case "Block": {
        const params = item.params.map((p) =>
          p.default ? `${p.name.name} = ${this.expr(p.default, 0)}` : p.name.name,
        );
        const head = params.length > 0 ? `block ${item.name.name}(${params.join(", ")})` : `block ${item.name.name}`;
        return `${head} ${this.body(item.body, 0)}`;
      }
      case "Model": {
        const inputs = item.inputs.map((i) => `${i.name.name}: ${this.type(i.type)}`);
        return `model ${item.name.name}(${inputs.join(", ")}) ${this.body(item.body, 0)}`;
      }
    }
  }

  private type(t: A.TypeExpr): string {
    const dims = t.dims.map((d) =>
      d.max ? `${this.expr(d.size, 0)} <= ${this.expr(d.max, 0)}` : this.expr(d.size, 0),
    );
    const vocab = t.vocab ? ` of ${this.expr(t.vocab, 0)}` : "";
    return `${t.dtype.name}[${dims.join(", ")}]${vocab}`;
  }

  // ── bodies and statements ──────────────────────────────────────────────────────────────────────────

  /** A body printed over several lines; `{}` when it has neither statements nor comments. The closing `}`
   *  is at `depth`, the statements at `depth + 1`. */
  private body(body: A.Body, depth: number): string {
    const limit = this.limits.get(body) ?? body.span.end;
    const open = body.span.start + 1;
    const firstStart = body.statements[0]?.span.start ?? limit;
    let head = "{";
    const c = this.peek();
    if (
      c !== undefined &&
      c.start >= open &&
      c.start < firstStart &&
      c.start < limit &&
      this.lineBreaks(open, c.start) === 0
    ) {
      this.next++;
      head += `  ${c.text}`;
    }
    const lines: string[] = [];
    this.sequence(body.statements, depth + 1, open, limit, lines, (s, d) => this.statement(s, d));
    if (lines.length === 0 && head === "{") return "{}";
    return `${head}\n${lines.join("\n")}\n${indentUnit.repeat(depth)}}`;
  }

  /** A body literal (`shortcut = { conv2d(256, 1); batchnorm }`): one line unless it holds comments or a
   *  container body. */
  private bodyLit(body: A.Body, depth: number): string {
    const limit = this.limits.get(body) ?? body.span.end;
    if (this.hasCommentBefore(limit) || !body.statements.every(fitsOneLine)) return this.body(body, depth);
    if (body.statements.length === 0) return "{}";
    return `{ ${body.statements.map((s) => this.statement(s, depth)).join("; ")} }`;
  }

  private statement(s: A.Statement, depth: number): string {
    this.prepare(s);
    switch (s.kind) {
      case "Input":
        return `input ${s.names.map((n) => n.name).join(", ")}`;
      case "Output":
        return `output ${s.values.map((v) => this.expr(v, depth)).join(", ")}`;
      case "Expect":
        return `expect ${s.quantity.name} ${s.op} ${this.expr(s.value, depth)}`;
      case "Loss":
        return `loss ${this.expr(s.call, depth)}`;
      case "Const":
        return `const ${s.name.name} = ${this.expr(s.value, depth)}`;
      case "Binding":
        return `${s.targets.map((n) => n.name).join(", ")} = ${this.flow(s.flow, depth)}`;
      case "FlowStmt":
        return this.flow(s.flow, depth);
    }
  }

  private flow(f: A.Flow, depth: number): string {
    let out = "";
    for (let i = 0; i < f.stages.length; i++) {
      const stage = f.stages[i]!;
      const alias = stage.alias ? ` as ${stage.alias.name}` : "";
      let text: string;
      let arrow = f.arrows[i] === true;
      if (stage.kind === "Repeat") {
        const from = stage.start ? ` from ${this.expr(stage.start, depth)}` : "";
        const template = stage.template ? ` as ${quote(stage.template.value)}` : "";
        const index = stage.index ? ` with ${stage.index.name}` : "";
        const head = `repeat ${this.expr(stage.count, depth)}${alias}${template}${from}${index}`;
        text = `${head} ${this.body(stage.body, depth)}`;
      } else {
        let expr = this.expr(stage.expr, depth);
        const previous = f.stages[i - 1];
        if (i > 0 && !arrow && previous?.kind === "ExprStage" && previous.body === null) {
          // A stage written next to the previous one must not be read as part of it: `dense(3) (-b)` is two
          // stages but `dense(3) -b` a subtraction, and `x ({ … })` is not `x { … }`. (A name followed by
          // `(` would become a call: the parser never builds that tree without `->`; stay correct anyway.)
          const endsInName = previous.alias === null && previous.expr.kind === "Ident";
          const clash = expr.startsWith("{") || (expr.startsWith("-") && previous.alias === null);
          if (endsInName && (clash || expr.startsWith("("))) arrow = true;
          else if (clash) expr = `(${expr})`;
        }
        text = stage.body ? `${expr}${alias} ${this.body(stage.body, depth)}` : `${expr}${alias}`;
      }
      out += i === 0 ? text : (arrow ? " -> " : " ") + text;
    }
    return out;
  }

  // ── expressions ────────────────────────────────────────────────────────────────────────────────────

  expr(e: A.Expr, depth: number): string {
    switch (e.kind) {
      case "Int":
      case "Decimal":
        return e.raw;
      case "String":
        return quote(e.value);
      case "Bool":
        return e.value ? "true" : "false";
      case "Ident":
        return e.name;
      case "Call": {
        const args = e.args.map((a) =>
          a.name ? `${a.name.name} = ${this.expr(a.value, depth)}` : this.expr(a.value, depth),
        );
        return `${e.callee.name}(${args.join(", ")})`;
      }
      case "Binary": {
        const p = A.precedence[e.op];
        // Left-associative: a left operand needs parentheses only when it binds more loosely; a right operand
        // also at equal precedence (`a - (b - c)`; `a + (b + c)` keeps them too, so the tree round-trips).
        const left =
          e.left.kind === "Binary" && A.precedence[e.left.op] < p
            ? `(${this.expr(e.left, depth)})`
            : this.expr(e.left, depth);
        const right =
          e.right.kind === "Binary" && A.precedence[e.right.op] <= p
            ? `(${this.expr(e.right, depth)})`
            : this.expr(e.right, depth);
        return `${left} ${e.op} ${right}`;
      }
      case "Unary": {
        const operand = this.expr(e.operand, depth);
        // `-(a + b)` needs them; `-(-a)` reads better than `--a`.
        return e.operand.kind === "Binary" || e.operand.kind === "Unary" ? `-(${operand})` : `-${operand}`;
      }
      case "List":
        return `[${e.items.map((i) => this.expr(i, depth)).join(", ")}]`;
      case "Member": {
        const object = this.expr(e.object, depth);
        const wrap = e.object.kind === "Binary" || e.object.kind === "Unary";
        return `${wrap ? `(${object})` : object}.${e.property.name}`;
      }
      case "BodyLit":
        return this.bodyLit(e.body, depth);
    }
  }
}

/**
 * Trailing comments on consecutive lines start in one column, two spaces after the longest code among
 * them (like gofmt); a line without a trailing comment, or a blank line, ends the run. Lines that open or
 * close a body (`… {`, `} …`) keep two spaces and end the run, so that alignment never depends on how a
 * body is laid out.
 */
function alignTrailingComments(text: string, mark: string): string {
  if (mark.trim() === "") return text;
  const lines = text.split("\n");
  const alignable = (line: string): boolean => {
    const at = line.indexOf(mark);
    if (at < 0) return false;
    const code = line.slice(0, at).trim();
    return !code.endsWith("{") && !code.startsWith("}");
  };
  for (let k = 0; k < lines.length; k++) if (!alignable(lines[k]!)) lines[k] = lines[k]!.replace(mark, "  ");
  let i = 0;
  while (i < lines.length) {
    if (!lines[i]!.includes(mark)) {
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j]!.includes(mark)) j++;
    const column = Math.max(...lines.slice(i, j).map((l) => l.indexOf(mark))) + 2;
    for (let k = i; k < j; k++) {
      const at = lines[k]!.indexOf(mark);
      lines[k] = lines[k]!.slice(0, at).padEnd(column) + lines[k]!.slice(at + 1);
    }
    i = j;
  }
  return lines.join("\n");
}
