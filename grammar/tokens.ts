// Tokens of the `.nn` language, and the lexer pass that decides which newlines end statements.
import { createToken, createTokenInstance, Lexer, type IToken, type TokenType } from "chevrotain";

/** A word that can stand in a name path (`as output.dense`, `tie = model.embed_tokens`): an identifier or
 *  any keyword. A category, not a token of its own: the lexer never produces it. */
export const Word = createToken({ name: "Word", pattern: Lexer.NA, label: "a name" });
/** A keyword that can start a `tie = …` path (every keyword but `true` and `false`, which are values). */
export const NameKeyword = createToken({ name: "NameKeyword", pattern: Lexer.NA, label: "a name", categories: [Word] });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: [Word] });

function keyword(word: string, category: TokenType = NameKeyword): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    label: `\`${word}\``,
    categories: category === Word ? [Word] : [category, Word],
  });
}

export const Model = keyword("model");
export const Block = keyword("block");
export const Const = keyword("const");
export const Import = keyword("import");
export const From = keyword("from");
export const As = keyword("as");
export const Of = keyword("of");
export const Repeat = keyword("repeat");
export const Input = keyword("input");
export const Output = keyword("output");
export const Expect = keyword("expect");
export const Loss = keyword("loss");
export const With = keyword("with");
export const True = keyword("true", Word);
export const False = keyword("false", Word);

export const keywords: readonly TokenType[] = [
  Model,
  Block,
  Const,
  Import,
  From,
  As,
  Of,
  Repeat,
  Input,
  Output,
  Expect,
  Loss,
  With,
  True,
  False,
];
export const keywordNames: ReadonlySet<string> = new Set(keywords.map((k) => (k.PATTERN as RegExp).source));

// Numbers are lexed permissively (`1__0`, `10_`) and validated when the AST is built, so that a misplaced
// separator gets its own clear diagnostic instead of a confusing token split.
/** A number that runs into letters (`4d`, `1.5e`): reported as a malformed number, never split in two. */
export const BadNumber = createToken({
  name: "BadNumber",
  pattern: /\d[\d_]*(?:\.[\d_]+)?(?:[eE][+-]?)?[A-Za-z0-9_]*/,
  label: "malformed number",
});
export const Decimal = createToken({
  name: "Decimal",
  pattern: /\d[\d_]*(?:\.\d[\d_]*(?:[eE][+-]?\d+)?|[eE][+-]?\d+)/,
  label: "decimal",
  longer_alt: BadNumber,
});
export const Integer = createToken({ name: "Integer", pattern: /\d[\d_]*/, label: "integer", longer_alt: BadNumber });
export const StringLiteral = createToken({
  name: "StringLiteral",
  pattern: /"(?:[^"\\\r\n]|\\.)*"/,
  label: "string",
});
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\r\n]|\\.)*/,
  label: "unterminated string",
});

/** `Newline` and `;` both end a statement. */
export const Separator = createToken({ name: "Separator", pattern: Lexer.NA, label: "end of statement" });

export const Arrow = createToken({ name: "Arrow", pattern: /->/, label: "`->`" });
export const EqEq = createToken({ name: "EqEq", pattern: /==/, label: "`==`" });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/, label: "`!=`" });
export const LessEq = createToken({ name: "LessEq", pattern: /<=/, label: "`<=`" });
export const GreaterEq = createToken({ name: "GreaterEq", pattern: />=/, label: "`>=`" });
export const Less = createToken({ name: "Less", pattern: /</, label: "`<`" });
export const Greater = createToken({ name: "Greater", pattern: />/, label: "`>`" });
export const Equals = createToken({ name: "Equals", pattern: /=/, label: "`=`" });
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "`+`" });
export const Minus = createToken({ name: "Minus", pattern: /-/, label: "`-`" });
export const Star = createToken({ name: "Star", pattern: /\*/, label: "`*`" });
export const SlashSlash = createToken({ name: "SlashSlash", pattern: /\/\//, label: "`//`" });
export const Slash = createToken({ name: "Slash", pattern: /\//, label: "`/`" });
export const Percent = createToken({ name: "Percent", pattern: /%/, label: "`%`" });
export const Colon = createToken({ name: "Colon", pattern: /:/, label: "`:`" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "`,`" });
export const Semicolon = createToken({ name: "Semicolon", pattern: /;/, label: "`;`", categories: [Separator] });
export const Dot = createToken({ name: "Dot", pattern: /\./, label: "`.`" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "`(`" });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "`)`" });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/, label: "`[`" });
export const RBracket = createToken({ name: "RBracket", pattern: /]/, label: "`]`" });
export const LCurly = createToken({ name: "LCurly", pattern: /{/, label: "`{`" });
export const RCurly = createToken({ name: "RCurly", pattern: /}/, label: "`}`" });

/** A newline that ends a statement (see `significantNewlines`). */
export const Newline = createToken({
  name: "Newline",
  pattern: /\r?\n|\r/,
  line_breaks: true,
  label: "end of line",
  categories: [Separator],
});
export const Comment = createToken({ name: "Comment", pattern: /#[^\r\n]*/, group: "comments" });
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\f\v\uFEFF]+/, group: Lexer.SKIPPED });

export const allTokens: TokenType[] = [
  Separator,
  Word,
  NameKeyword,
  WhiteSpace,
  Newline,
  Comment,
  ...keywords,
  Identifier,
  Decimal,
  Integer,
  BadNumber,
  StringLiteral,
  UnterminatedString,
  Arrow,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  SlashSlash,
  Slash,
  Percent,
  Colon,
  Comma,
  Semicolon,
  Dot,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
];

/** `validate`: run Chevrotain's checks of the token definitions (unreachable or empty patterns, …). The
 *  tokens are fixed, so the shared lexer skips them (start-up time) and a test builds one with them. */
export function createLexer(validate = false): Lexer {
  return new Lexer(allTokens, {
    positionTracking: "onlyOffset",
    ensureOptimizations: false,
    // Error tokens are reported by the caller with our own codes.
    recoveryEnabled: true,
    skipValidations: !validate,
  });
}

export const lexer = createLexer();

/** Tokens after which a line break does not end the statement (the expression continues). */
const continuationTokens: ReadonlySet<TokenType> = new Set([
  Arrow,
  Equals,
  Comma,
  Plus,
  Minus,
  Star,
  Slash,
  SlashSlash,
  Percent,
  EqEq,
  NotEq,
  Less,
  LessEq,
  Greater,
  GreaterEq,
  Colon,
  Dot,
  LCurly,
  Semicolon,
  Newline,
  As,
  Of,
  From,
  With,
  Import,
]);

/**
 * Keeps only the newlines that end statements: none inside `( … )` or `[ … ]` (unless a `{ … }` opens
 * inside them), none after a token that needs a continuation, none at the start, none before `}` and at most
 * one in a row. Every other token passes through unchanged.
 */
export function significantNewlines(tokens: readonly IToken[]): IToken[] {
  const out: IToken[] = [];
  const stack: TokenType[] = [];
  for (const token of tokens) {
    const type = token.tokenType;
    if (type === Newline) {
      const top = stack[stack.length - 1];
      if (top === LParen || top === LBracket) continue;
      const previous = out[out.length - 1];
      if (previous === undefined || continuationTokens.has(previous.tokenType)) continue;
      out.push(token);
      continue;
    }
    if (type === LParen || type === LBracket || type === LCurly) stack.push(type);
    else if (type === RParen || type === RBracket || type === RCurly) stack.pop();
    if (type === RCurly) {
      // `a \n }` — the newline before a closing brace ends nothing.
      while (out.length > 0 && out[out.length - 1]!.tokenType === Newline) out.pop();
    }
    out.push(token);
  }
  while (out.length > 0 && out[out.length - 1]!.tokenType === Newline) out.pop();
  return out;
}

/**
 * The lexer reads `conv.0.0` as `conv`, `.`, `0.0` (a decimal). Within a name path — after `.` or `as` —
 * a decimal written as digits, a point and digits is two integer segments: `0.0` becomes `0`, `.`, `0`.
 * (Nowhere else can a decimal follow `.` or `as`, so nothing that parsed before changes.) `endOffset` must
 * be set on the tokens given; it is set on the tokens made.
 */
export function splitPathNumbers(tokens: IToken[]): IToken[] {
  let out: IToken[] | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const tk = tokens[i]!;
    const previous = i > 0 ? tokens[i - 1]!.tokenType : undefined;
    const split =
      tk.tokenType === Decimal && (previous === Dot || previous === As) && /^\d[\d_]*\.\d[\d_]*$/.test(tk.image);
    if (!split) {
      out?.push(tk);
      continue;
    }
    out ??= tokens.slice(0, i);
    const point = tk.image.indexOf(".");
    const at = tk.startOffset;
    const piece = (type: TokenType, from: number, to: number): IToken => {
      const made = createTokenInstance(type, tk.image.slice(from, to), at + from, at + to - 1, NaN, NaN, NaN, NaN);
      made.endOffset = at + to - 1;
      return made;
    };
    out.push(piece(Integer, 0, point), piece(Dot, point, point + 1), piece(Integer, point + 1, tk.image.length));
  }
  return out ?? tokens;
}
