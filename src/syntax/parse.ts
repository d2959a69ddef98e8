// source text → tokens → CST → AST. Never throws: every problem becomes a diagnostic.
import { EOF, type IRecognitionException, type IToken } from "chevrotain";
import { parser } from "../../grammar/parser.js";
import * as t from "../../grammar/tokens.js";
import { diagnostic, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import { SourceText } from "../diagnostics/source.js";
import type { FileNode } from "./ast.js";
import { AstBuilder } from "./build-ast.js";

/** Limits that keep parsing bounded on hostile input (see ARCHITECTURE.md, "Invariants"). */
export const limits = {
  /** Deepest bracket nesting accepted; Chevrotain's recursion overflows the stack somewhere past 1,000. */
  maxDepth: 128,
  /** Most tokens in one file (a 10,000-line spec has about 100,000). */
  maxTokens: 2_000_000,
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
    const lexed = t.lexer.tokenize(text);
    for (const error of lexed.errors.slice(0, limits.maxErrors)) {
      const ch = text.slice(error.offset, error.offset + Math.min(error.length, 1));
      diagnostics.push(
        diagnostic(
          "UnexpectedCharacter",
          source.span(error.offset, error.offset + error.length),
          `unexpected character${error.length > 1 ? "s" : ""} ${describeChar(ch)}`,
          { help: charHelp(ch) },
        ),
      );
    }
    const all: IToken[] = [];
    for (const tk of lexed.tokens) {
      if (tk.tokenType === t.UnterminatedString) {
        diagnostics.push(
          diagnostic("UnterminatedString", source.span(tk.startOffset, endOf(tk)), "unterminated string", {
            help: 'close it with `"` on the same line',
          }),
        );
      } else if (tk.tokenType === t.BadNumber) {
        diagnostics.push(
          diagnostic("MalformedNumber", source.span(tk.startOffset, endOf(tk)), `malformed number \`${tk.image}\``, {
            help: /^\d[\d_]*[A-DF-Za-df-z_]/.test(tk.image)
              ? "a number cannot run into a name: write `4 * d`, not `4d`"
              : "write decimals as `0.5`, `1e-5` or `1.5e3`",
          }),
        );
      } else all.push(tk);
    }
    if (all.length > limits.maxTokens) {
      diagnostics.push(
        diagnostic("FileTooLarge", source.span(0, 0), `file has ${all.length} tokens, more than the ${limits.maxTokens} nnc accepts`, {
          help: "split it into several files and `import` blocks",
        }),
      );
      return fail();
    }
    if (!checkBrackets(all, source, diagnostics) || diagnostics.length > 0) return fail();

    parser.input = t.significantNewlines(all);
    const cst = parser.file();
    const errors = parser.errors;
    if (errors.length > 0) {
      // One error per line: recovery after the first mistake in a statement mostly produces echoes of it.
      const seen = new Set<number>();
      for (const error of errors) {
        const line = errorLine(error);
        if (seen.has(line)) continue;
        seen.add(line);
        if (seen.size > limits.maxErrors) {
          diagnostics.push(diagnostic("TooManyDiagnostics", undefined, `more syntax errors in ${file} not shown`));
          break;
        }
        diagnostics.push(syntaxDiagnostic(error, source));
      }
      return fail();
    }
    const builder = new AstBuilder(file);
    const ast = builder.visit(cst) as FileNode;
    diagnostics.push(...builder.diagnostics);
    return { value: { ast: builder.diagnostics.length > 0 ? null : ast, comments: lexed.groups["comments"] ?? [], source }, diagnostics };
  } catch (error) {
    // A last resort: the limits above should make this unreachable, but user input never escapes as a crash.
    diagnostics.push(
      diagnostic("NestingTooDeep", source.span(0, 0), "the file is too deeply nested or too large to parse", {
        notes: [String(error instanceof Error ? error.message : error)],
      }),
    );
    return fail();
  }
}

/** Reports unmatched and unclosed brackets and too-deep nesting. Returns false when parsing must not run. */
function checkBrackets(tokens: readonly IToken[], source: SourceText, diagnostics: Diagnostic[]): boolean {
  const stack: IToken[] = [];
  let ok = true;
  for (const tk of tokens) {
    const type = tk.tokenType;
    if (openers.has(type)) {
      stack.push(tk);
      if (stack.length > limits.maxDepth) {
        diagnostics.push(
          diagnostic("NestingTooDeep", spanOf(tk, source), `brackets nested more than ${limits.maxDepth} deep`, {
            help: "name intermediate values or constants instead of nesting",
          }),
        );
        return false;
      }
    } else if (closers.has(type)) {
      const top = stack[stack.length - 1];
      if (top && openers.get(top.tokenType) === type) {
        stack.pop();
        continue;
      }
      ok = false;
      if (stack.some((s) => openers.get(s.tokenType) === type)) {
        // The closer belongs to an outer bracket: the inner ones were never closed.
        while (stack.length > 0 && openers.get(stack[stack.length - 1]!.tokenType) !== type) {
          const open = stack.pop()!;
          diagnostics.push(
            diagnostic("UnclosedBracket", spanOf(open, source), `unclosed \`${open.image}\``, {
              labels: [{ span: spanOf(tk, source), message: `expected \`${closerOf(open)}\` before this` }],
              help: `add \`${closerOf(open)}\``,
            }),
          );
        }
        stack.pop();
      } else {
        diagnostics.push(
          diagnostic("UnmatchedBracket", spanOf(tk, source), `unmatched \`${tk.image}\``, {
            labels: top ? [{ span: spanOf(top, source), message: `the innermost open bracket is this \`${top.image}\`` }] : [],
            help: "remove it, or add the opening bracket",
          }),
        );
      }
      if (diagnostics.length >= limits.maxErrors) return false;
    }
  }
  for (const open of stack.slice(0, limits.maxErrors)) {
    ok = false;
    diagnostics.push(
      diagnostic("UnclosedBracket", spanOf(open, source), `unclosed \`${open.image}\``, {
        help: `add \`${closerOf(open)}\``,
      }),
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

function errorLine(error: IRecognitionException): number {
  const tk = error.token;
  if (tk.tokenType === EOF || !Number.isFinite(tk.startOffset)) return -1;
  return tk.startLine ?? -1;
}

function syntaxDiagnostic(error: IRecognitionException, source: SourceText): Diagnostic {
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
  const previous = (error as { previousToken?: IToken }).previousToken;
  const labels =
    previous && Number.isFinite(previous.startOffset) && previous.tokenType !== EOF && error.name === "MismatchedTokenException"
      ? [{ span: source.span(previous.startOffset, endOf(previous)), message: "after this" }]
      : [];
  return diagnostic("UnexpectedToken", span, error.message, { labels, help: syntaxHelp(error) });
}

function syntaxHelp(error: IRecognitionException): string | undefined {
  const message = error.message;
  if (message.startsWith("expected `)`, found `") && error.token.tokenType === t.Identifier) {
    return "separate arguments with `,`";
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
