// source text → tokens → CST → AST. Never throws: every problem becomes a diagnostic.
import { EOF, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import { parser } from "../../grammar/parser.js";
import * as t from "../../grammar/tokens.js";
import { diagnostic, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import { SourceText } from "../diagnostics/source.js";
import type { FileNode } from "./ast.js";
import { AstBuilder } from "./build-ast.js";

/** Limits that keep parsing bounded on hostile input (see ARCHITECTURE.md, "Invariants"). */
export const limits = {
  /** Deepest bracket nesting accepted, a `{` counting as two levels. Chevrotain recurses about 11 rules deep
   *  for each `{ x = {` and 8 for each `f(a = (`: a cold `nnc check` on Node 20's default stack overflowed
   *  at about 138 of the former and 190 of the latter. With each `{` counting double, every shape tried
   *  still parses at the limit on 70 % of that stack (a margin of about 1.4). */
  maxDepth: 128,
  /** Most tokens in one file (a 10,000-line spec has about 100,000). The CST costs about 3–5 KB a token:
   *  600,000 tokens took 2.9 GB and 2,000,000 ran out of heap (a crash, not a diagnostic). */
  maxTokens: 250_000,
  /** Most syntax errors reported for one file. */
  maxErrors: 50,
};

export interface ParseOutput {
  /** The AST; `null` when the file has syntax errors (later stages do not run on a broken tree). */
  readonly ast: FileNode | null;
  /** Comments, in source order, for the formatter. */
  readonly comments: readonly IToken[];
  readonly source: SourceText;
}

const openers = new Map([
  [t.LParen, t.RParen],
  [t.LBracket, t.RBracket],
  [t.LCurly, t.RCurly],
]);
const closers = new Set([t.RParen, t.RBracket, t.RCurly]);

export function parse(text: string, file: string): Result<ParseOutput> {
  const source = new SourceText(file, text);
  const diagnostics: Diagnostic[] = [];
  const fail = (): Result<ParseOutput> => ({ value: { ast: null, comments: [], source }, diagnostics });
  try {
    // The lexer materializes every token (about 260 bytes each): refuse a huge file before it runs.
    const atLeast = tokenLowerBound(text);
    if (atLeast > limits.maxTokens) {
      diagnostics.push(
        diagnostic("FileTooLarge", source.span(0, 0), ["atLeast", { count: atLeast, max: limits.maxTokens }], {
          help: "split it into several files and `import` blocks",
        }),
      );
      return fail();
    }
    const lexed = t.lexer.tokenize(text);
    for (const error of lexed.errors.slice(0, limits.maxErrors)) {
      const ch = text.slice(error.offset, error.offset + Math.min(error.length, 1));
      diagnostics.push(
        diagnostic(
          "UnexpectedCharacter",
          source.span(error.offset, error.offset + error.length),
          { s: error.length > 1 ? "s" : "", char: describeChar(ch) },
          { help: charHelp(ch) },
        ),
      );
    }
    const all: IToken[] = [];
    // The lexer tracks start offsets only (much less garbage on big files); the end offset is derived here
    // once, and the parser's node locations are built from it.
    for (const tk of lexed.groups["comments"] ?? []) tk.endOffset = tk.startOffset + tk.image.length - 1;
    for (const tk of lexed.tokens) {
      tk.endOffset = tk.startOffset + tk.image.length - 1;
      const bad = tk.tokenType === t.UnterminatedString || tk.tokenType === t.BadNumber;
      if (bad && diagnostics.length >= limits.maxErrors) continue;
      if (tk.tokenType === t.UnterminatedString) {
        diagnostics.push(
          diagnostic(
            "UnterminatedString",
            source.span(tk.startOffset, endOf(tk)),
            {},
            {
              help: 'close it with `"` on the same line',
            },
          ),
        );
      } else if (tk.tokenType === t.BadNumber) {
        diagnostics.push(
          diagnostic(
            "MalformedNumber",
            source.span(tk.startOffset, endOf(tk)),
            { text: tk.image },
            {
              help: /^\d[\d_]*[A-DF-Za-df-z_]/.test(tk.image)
                ? "a number cannot run into a name: write `4 * d`, not `4d`"
                : "write decimals as `0.5`, `1e-5` or `1.5e3`",
            },
          ),
        );
      } else all.push(tk);
    }
    if (all.length > limits.maxTokens) {
      diagnostics.push(
        diagnostic("FileTooLarge", source.span(0, 0), ["counted", { count: all.length, max: limits.maxTokens }], {
          help: "split it into several files and `import` blocks",
        }),
      );
      return fail();
    }
    if (!checkBrackets(all, source, diagnostics) || diagnostics.length > 0) return fail();

    const input = t.significantNewlines(t.splitPathNumbers(all));
    parser.input = input;
    const cst = parser.file();
    const errors = parser.errors;
    if (errors.length > 0) {
      // One error per line: recovery after the first mistake in a statement mostly produces echoes of it.
      const seen = new Set<number>();
      for (const error of errors) {
        const line = errorLine(error, source);
        if (seen.has(line)) continue;
        seen.add(line);
        if (seen.size > limits.maxErrors) {
          const rest = new Set(errors.map((e) => errorLine(e, source))).size - limits.maxErrors;
          const at = syntaxDiagnostic(error, source, input).span;
          diagnostics.push(
            diagnostic("TooManyDiagnostics", at, ["lines", { count: rest, s: rest === 1 ? "" : "s", file }]),
          );
          break;
        }
        diagnostics.push(syntaxDiagnostic(error, source, input));
      }
      return fail();
    }
    const builder = new AstBuilder(file, source);
    const ast = builder.visit(cst) as FileNode;
    // Not `push(...)`: a file of 200,000 malformed numbers would overflow the stack with its arguments.
    for (const d of builder.diagnostics.slice(0, limits.maxErrors)) diagnostics.push(d);
    if (builder.diagnostics.length > limits.maxErrors) {
      const first = builder.diagnostics[limits.maxErrors]!;
      diagnostics.push(
        diagnostic("TooManyDiagnostics", first.span, [
          "errors",
          { count: builder.diagnostics.length - limits.maxErrors, file },
        ]),
      );
    }
    return {
      value: { ast: builder.diagnostics.length > 0 ? null : ast, comments: lexed.groups["comments"] ?? [], source },
      diagnostics,
    };
  } catch (error) {
    // A last resort: the limits above should make this unreachable, but user input never escapes as a crash.
    diagnostics.push(
      diagnostic("NestingTooDeep", source.span(0, 0), ["parser", {}], {
        notes: [String(error instanceof Error ? error.message : error)],
      }),
    );
    return fail();
  }
}

/**
 * A cheap lower bound on the number of tokens plus lexing errors the lexer would produce: every bracket,
 * `,`, `;` and line break outside strings and comments is a token of its own; a run of letters and digits
 * is at least a third of one (`1.5e-3` is three runs); a run of characters that start no token is one
 * lexing error.
 */
/** `+ - * / % = < > : .` */
const operatorChars: ReadonlySet<number> = new Set([43, 45, 42, 47, 37, 61, 60, 62, 58, 46]);

export function tokenLowerBound(text: string): number {
  let singles = 0;
  let runs = 0;
  let errors = 0;
  let previous = 0; // 0 other, 1 in a run of word characters, 2 in a run of unexpected characters
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let kind = 0;
    if (c === 35 /* # */) {
      while (i + 1 < text.length && text.charCodeAt(i + 1) !== 10 && text.charCodeAt(i + 1) !== 13) i++;
    } else if (c === 34 /* " */) {
      // As the lexer: a string ends at its closing quote, or before a line break or before a backslash that
      // escapes nothing (the `.` in the string pattern matches no line terminator).
      singles++;
      while (i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d === 10 || d === 13) break;
        if (d === 92 /* \ */) {
          const e = text.charCodeAt(i + 2);
          if (i + 2 >= text.length || e === 10 || e === 13 || e === 0x2028 || e === 0x2029) break;
          i += 2;
          continue;
        }
        i++;
        if (d === 34) break;
      }
    } else if (c === 10 || c === 13) {
      if (!(c === 13 && text.charCodeAt(i + 1) === 10)) singles++;
    } else if (c === 40 || c === 41 || c === 91 || c === 93 || c === 123 || c === 125 || c === 44 || c === 59) {
      singles++;
    } else if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
      kind = 1;
      if (previous !== 1) runs++;
    } else if (
      c === 33 /* ! */
        ? text.charCodeAt(i + 1) !== 61
        : c !== 32 && c !== 9 && c !== 12 && c !== 11 && c !== 0xfeff && !operatorChars.has(c)
    ) {
      kind = 2;
      if (previous !== 2) errors++;
    }
    previous = kind;
  }
  return singles + Math.ceil(runs / 3) + errors;
}

/** Reports unmatched and unclosed brackets and too-deep nesting. Returns false when parsing must not run. */
function checkBrackets(tokens: readonly IToken[], source: SourceText, diagnostics: Diagnostic[]): boolean {
  const stack: IToken[] = [];
  /** Nesting depth, a `{` counting as two (see `limits.maxDepth`). */
  let depth = 0;
  const weight = (open: IToken) => (open.tokenType === t.LCurly ? 2 : 1);
  const pop = (): IToken | undefined => {
    const open = stack.pop();
    if (open) depth -= weight(open);
    return open;
  };
  let ok = true;
  for (const tk of tokens) {
    const type = tk.tokenType;
    if (openers.has(type)) {
      stack.push(tk);
      depth += weight(tk);
      if (depth > limits.maxDepth) {
        const braces = stack.some((open) => open.tokenType === t.LCurly) ? " (a `{` counts as two)" : "";
        diagnostics.push(
          diagnostic("NestingTooDeep", spanOf(tk, source), ["brackets", { max: limits.maxDepth, braces }], {
            help: "name intermediate values or constants instead of nesting",
          }),
        );
        return false;
      }
    } else if (closers.has(type)) {
      const top = stack[stack.length - 1];
      if (top && openers.get(top.tokenType) === type) {
        pop();
        continue;
      }
      ok = false;
      if (stack.some((s) => openers.get(s.tokenType) === type)) {
        // The closer belongs to an outer bracket: the inner ones were never closed.
        while (stack.length > 0 && openers.get(stack[stack.length - 1]!.tokenType) !== type) {
          const open = pop()!;
          diagnostics.push(
            diagnostic(
              "UnclosedBracket",
              spanOf(open, source),
              { bracket: open.image },
              {
                labels: [{ span: spanOf(tk, source), message: `expected \`${closerOf(open)}\` before this` }],
                help: `add \`${closerOf(open)}\``,
              },
            ),
          );
        }
        pop();
      } else {
        diagnostics.push(
          diagnostic(
            "UnmatchedBracket",
            spanOf(tk, source),
            { bracket: tk.image },
            {
              labels: top
                ? [{ span: spanOf(top, source), message: `the innermost open bracket is this \`${top.image}\`` }]
                : [],
              help: "remove it, or add the opening bracket",
            },
          ),
        );
      }
      if (diagnostics.length >= limits.maxErrors) return false;
    }
  }
  for (const open of stack.slice(0, limits.maxErrors)) {
    ok = false;
    diagnostics.push(
      diagnostic(
        "UnclosedBracket",
        spanOf(open, source),
        { bracket: open.image },
        {
          help: `add \`${closerOf(open)}\``,
        },
      ),
    );
  }
  return ok;
}

function endOf(tk: IToken): number {
  return (tk.endOffset ?? tk.startOffset) + 1;
}

function closerOf(open: IToken): string {
  return open.tokenType === t.LParen ? ")" : open.tokenType === t.LBracket ? "]" : "}";
}

function spanOf(tk: IToken, source: SourceText) {
  return source.span(tk.startOffset, endOf(tk));
}

function errorLine(error: IRecognitionException, source: SourceText): number {
  const tk = error.token;
  if (tk.tokenType === EOF || !Number.isFinite(tk.startOffset)) return -1;
  return source.position(tk.startOffset).line;
}

function syntaxDiagnostic(error: IRecognitionException, source: SourceText, tokens: readonly IToken[]): Diagnostic {
  const tk = error.token;
  let span;
  if (tk.tokenType === EOF || !Number.isFinite(tk.startOffset)) {
    const end = source.text.length;
    span = source.span(end, end);
  } else if (tk.tokenType === t.Newline) {
    // Point at the end of the line rather than at the invisible line break.
    span = source.span(tk.startOffset, tk.startOffset);
  } else {
    span = source.span(tk.startOffset, endOf(tk));
  }
  // "after this": the token just before the unexpected one, when it is on the same line (Chevrotain's own
  // previousToken is often another token after recovery).
  const previous = tokenBefore(tokens, span.start);
  const labels =
    previous &&
    previous.tokenType !== t.Newline &&
    source.position(endOf(previous) - 1).line === span.line &&
    error.name === "MismatchedTokenException"
      ? [{ span: source.span(previous.startOffset, endOf(previous)), message: "after this" }]
      : [];
  const keyword = keywordAsName(error, tokens);
  if (keyword) {
    return diagnostic(
      "ReservedName",
      source.span(keyword.startOffset, endOf(keyword)),
      ["keyword", { name: keyword.image }],
      {
        notes: [
          `the keywords of the language: ${[...t.keywordNames].map((k) => `\`${k}\``).join(", ")}`,
          "a layer's name may be a keyword: `dense(4) as output`, `tie = output`",
        ],
        help: `write another name here, such as \`${keyword.image}_\``,
      },
    );
  }
  return diagnostic("UnexpectedToken", span, { problem: error.message }, { labels, help: syntaxHelp(error) });
}

const keywordTypes: ReadonlySet<TokenType> = new Set(t.keywords);
/** Tokens after which a keyword can only have been meant as a name (`(output: …`, `dense(model)`, `a, input =`). */
const beforeName: ReadonlySet<TokenType> = new Set([t.LParen, t.Comma, t.Arrow, t.LBracket]);
/** Tokens a name may be followed by where a keyword cannot be (`output: f32[4]`, `(model)`, `input = …`). */
const afterName: ReadonlySet<TokenType> = new Set([t.Colon, t.Equals, t.Comma, t.RParen, t.RBracket]);

/** The keyword a syntax error comes from when it was written as a name: the parser wanted a name and found
 *  one (`dense(4) as output`, `const model = 3`); a keyword stands between name punctuation (`(output:`,
 *  `dense(model)`, `[a, input]`); or a statement binds it (`output = x -> dense(4)`). */
function keywordAsName(error: IRecognitionException, tokens: readonly IToken[]): IToken | undefined {
  const tk = error.token;
  if (tk.tokenType === EOF || !Number.isFinite(tk.startOffset)) return undefined;
  const i = tokenIndex(tokens, tk.startOffset);
  if (i === undefined) return undefined;
  const previous = tokens[i - 1];
  const next = tokens[i + 1];
  if (keywordTypes.has(tk.tokenType)) {
    if (error.message.startsWith("expected a name, found")) return tk;
    // `true` and `false` are values where a name may stand; only a parser that wanted a name says more.
    if (tk.tokenType === t.True || tk.tokenType === t.False) return undefined;
    if (
      previous &&
      beforeName.has(previous.tokenType) &&
      (previous.tokenType === t.Arrow ? tk.tokenType !== t.Repeat : next !== undefined && afterName.has(next.tokenType))
    ) {
      return tk;
    }
    return undefined;
  }
  // `output = …`: the statement keyword parsed, then `=` where its value should be.
  if (tk.tokenType === t.Equals && previous && keywordTypes.has(previous.tokenType)) {
    const before = tokens[i - 2];
    if (
      before === undefined ||
      before.tokenType === t.Newline ||
      before.tokenType === t.LCurly ||
      before.tokenType === t.Semicolon
    )
      return previous;
  }
  return undefined;
}

/** The index of the token that starts at `offset` (binary search over tokens in source order). */
function tokenIndex(tokens: readonly IToken[], offset: number): number | undefined {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = tokens[mid]!.startOffset;
    if (start === offset) return mid;
    if (start < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** The last token that starts before `offset` (binary search over tokens in source order). */
function tokenBefore(tokens: readonly IToken[], offset: number): IToken | undefined {
  let lo = 0;
  let hi = tokens.length - 1;
  let found: IToken | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const tk = tokens[mid]!;
    if (tk.startOffset < offset) {
      found = tk;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function syntaxHelp(error: IRecognitionException): string | undefined {
  const message = error.message;
  if (message.startsWith("expected `)`, found `") && error.token.tokenType === t.Identifier) {
    return "separate arguments with `,`";
  }
  if (message.startsWith("expected end of statement, found `=`")) {
    return "only a plain name can be bound (`gate = x -> dense(4)`); to name a layer, write `dense(256) as fc0`";
  }
  if (message.startsWith("expected end of statement, found number")) {
    return "sizes go inside the parentheses of a call, as in `dense(128)`";
  }
  return undefined;
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 32 || code === 127) return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return `\`${ch}\``;
}

function charHelp(ch: string): string | undefined {
  if (ch === "'") return 'strings use double quotes: "./blocks.nn"';
  if (ch === "!") return "`!=` compares; there is no `!` on its own";
  if (ch === "@") return "matrix products are layers: `dense(n)`";
  if (ch === "\uFFFD") return "the file contains bytes that are not valid UTF-8";
  return undefined;
}
