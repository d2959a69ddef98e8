// The Chevrotain parser of the `.nn` language. It builds a concrete syntax tree; `src/syntax/build-ast.ts`
// turns it into the AST. Each rule carries its production as a comment; grammar/grammar.ebnf collects them.
import {
  CstParser,
  EOF,
  LLkLookaheadStrategy,
  type CstNode,
  type ILookaheadStrategy,
  type IOrAlt,
  type IParserErrorMessageProvider,
  type IToken,
  type ITokenGrammarPath,
  type TokenType,
} from "chevrotain";
import * as t from "./tokens.js";

const Separator = t.Separator;

/** Deepest rule stack at which a missing token may be inserted during error recovery (see below). */
const maxRuleStackForInsertion = 100;

/** What a rule is, for "expected …" messages. */
const ruleDescriptions: Record<string, string> = {
  file: "a top-level item (`model`, `block`, `const` or `import`)",
  item: "a top-level item (`model`, `block`, `const` or `import`)",
  statement: "a statement",
  stage: "a layer, a value or `repeat`",
  expression: "an expression",
  operand: "an expression",
  compareOp: "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
  typeExpr: "a type such as `f32[3, 224, 224]` or `token[seq <= 1024] of vocab`",
  importDecl: '`{ names } from "path"` or a path string',
  arg: "an argument",
};

export function describeToken(token: IToken): string {
  const type = token.tokenType;
  if (type === EOF) return "end of file";
  if (type === t.Newline) return "end of line";
  if (type === t.Identifier) return `\`${token.image}\``;
  if (type === t.Integer || type === t.Decimal) return `number \`${token.image}\``;
  if (type === t.StringLiteral) return "a string";
  return `\`${token.image}\``;
}

function tokenLabel(type: TokenType): string {
  if (type === t.Identifier) return "a name";
  if (type === Separator) return "end of statement";
  if (type === EOF) return "end of file";
  return type.LABEL ?? type.name;
}

function alternatives(paths: TokenType[][][]): string {
  const firsts = new Set<string>();
  for (const alt of paths) for (const path of alt) if (path[0]) firsts.add(tokenLabel(path[0]));
  const list = [...firsts];
  if (list.length <= 1) return list[0] ?? "something else";
  return `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
}

export const errorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    // A statement that goes on where it should end (`self.fc = …`, `dense(4): relu`): the parser wanted the
    // enclosing `}` or the end of the file, but the person wrote one statement too many things.
    const endsStatement = expected === EOF || (expected === t.RCurly && actual.tokenType !== EOF);
    const what = endsStatement ? "end of statement" : tokenLabel(expected);
    return `expected ${what}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const what = ruleDescriptions[ruleName] ?? alternatives(expectedPathsPerAlt);
    return `expected ${what}, found ${describeToken(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const what = ruleDescriptions[ruleName] ?? alternatives([expectedIterationPaths]);
    return `expected ${what}, found ${describeToken(actual[0]!)}`;
  },
};

type Alternation = ILookaheadStrategy["buildLookaheadForAlternation"];
type Optional = ILookaheadStrategy["buildLookaheadForOptional"];

/**
 * Chevrotain's own LL(k) lookahead, built for each decision (an `OR`, `MANY`, `OPTION`, …) the first time
 * the parser reaches it instead of for all of them when the parser is constructed: that took ~30 ms of every
 * `nnc check`, most of it for decisions a small spec never reaches. The functions, and so the parse, are
 * the same; validation (ambiguities) is the inner strategy's.
 */
class LazyLookahead implements ILookaheadStrategy {
  private readonly inner: ILookaheadStrategy;

  constructor(maxLookahead: number) {
    this.inner = new LLkLookaheadStrategy({ maxLookahead });
  }

  validate(options: Parameters<ILookaheadStrategy["validate"]>[0]): ReturnType<ILookaheadStrategy["validate"]> {
    return this.inner.validate(options);
  }

  initialize(options: { rules: Parameters<ILookaheadStrategy["validate"]>[0]["rules"] }): void {
    this.inner.initialize?.(options);
  }

  buildLookaheadForAlternation(options: Parameters<Alternation>[0]): ReturnType<Alternation> {
    const inner = this.inner;
    let built: ReturnType<Alternation> | undefined;
    // Chevrotain calls lookahead functions with the parser as `this`.
    return function (this: unknown, alternatives?: IOrAlt<unknown>[]) {
      const f = (built ??= inner.buildLookaheadForAlternation(options));
      return f.call(this, alternatives);
    };
  }

  buildLookaheadForOptional(options: Parameters<Optional>[0]): ReturnType<Optional> {
    const inner = this.inner;
    let built: ReturnType<Optional> | undefined;
    return function (this: unknown) {
      const f = (built ??= inner.buildLookaheadForOptional(options));
      return f.call(this);
    };
  }
}

export class NnParser extends CstParser {
  /** `validate`: run Chevrotain's grammar validations (left recursion, ambiguities, unreachable
   *  alternatives). They cost ~40 ms of every start and the grammar is fixed, so the shared parser skips
   *  them and a test (parser.test.ts) builds one with them. */
  constructor(validate = false) {
    super(t.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      lookaheadStrategy: new LazyLookahead(3),
      errorMessageProvider: errorMessages,
      nodeLocationTracking: "onlyOffset",
      skipValidations: !validate,
    });
    this.performSelfAnalysis();
  }

  /**
   * Chevrotain computes the tokens that may follow a mismatch (for single-token insertion) by walking the
   * grammar recursively along the whole rule stack, on top of the already deep parse stack: a syntax error
   * inside ~56 nested `{ x = {` overflowed the stack of a cold `nnc check`, so the user saw "too deeply
   * nested" instead of the error. Deep inside, recovery falls back to re-synchronisation instead.
   */
  protected override getNextPossibleTokenTypes(path: ITokenGrammarPath): TokenType[] {
    return path.ruleStack.length > maxRuleStackForInsertion ? [] : super.getNextPossibleTokenTypes(path);
  }

  /** file := (item (sep+ item?)*)? EOF */
  public file = this.RULE("file", () => {
    this.MANY(() => this.CONSUME(Separator));
    this.OPTION(() => {
      this.SUBRULE(this.item);
      this.MANY2(() => {
        this.AT_LEAST_ONE(() => this.CONSUME2(Separator));
        this.OPTION2(() => this.SUBRULE2(this.item));
      });
    });
  });

  /** item := importDecl | constDecl | blockDecl | modelDecl */
  private item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.blockDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
    ]);
  });

  /** importDecl := "import" ( "{" name ("," name)* ","? "}" "from" string | string ) */
  private importDecl = this.RULE("importDecl", () => {
    this.CONSUME(t.Import);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(t.LCurly);
          this.CONSUME(t.Identifier);
          this.MANY(() => {
            this.CONSUME(t.Comma);
            this.CONSUME2(t.Identifier);
          });
          this.OPTION(() => this.CONSUME2(t.Comma));
          this.CONSUME(t.RCurly);
          this.CONSUME(t.From);
          this.CONSUME(t.StringLiteral);
        },
      },
      { ALT: () => this.CONSUME2(t.StringLiteral) },
    ]);
  });

  /** constDecl := "const" name "=" expression */
  private constDecl = this.RULE("constDecl", () => {
    this.CONSUME(t.Const);
    this.CONSUME(t.Identifier);
    this.CONSUME(t.Equals);
    this.SUBRULE(this.expression);
  });

  /** blockDecl := "block" name ( "(" (param ("," param)* ","?)? ")" )? body */
  private blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(t.Block);
    this.CONSUME(t.Identifier);
    this.OPTION(() => {
      this.CONSUME(t.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.param);
        this.MANY(() => {
          this.CONSUME(t.Comma);
          this.SUBRULE2(this.param);
        });
        this.OPTION3(() => this.CONSUME2(t.Comma));
      });
      this.CONSUME(t.RParen);
    });
    this.SUBRULE(this.body);
  });

  /** param := name ("=" expression)? */
  private param = this.RULE("param", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() => {
      this.CONSUME(t.Equals);
      this.SUBRULE(this.expression);
    });
  });

  /** modelDecl := "model" name "(" (inputDecl ("," inputDecl)* ","?)? ")" body */
  private modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(t.Model);
    this.CONSUME(t.Identifier);
    this.CONSUME(t.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.inputDecl);
      this.MANY(() => {
        this.CONSUME(t.Comma);
        this.SUBRULE2(this.inputDecl);
      });
      this.OPTION2(() => this.CONSUME2(t.Comma));
    });
    this.CONSUME(t.RParen);
    this.SUBRULE(this.body);
  });

  /** inputDecl := name ":" typeExpr */
  private inputDecl = this.RULE("inputDecl", () => {
    this.CONSUME(t.Identifier);
    this.CONSUME(t.Colon);
    this.SUBRULE(this.typeExpr);
  });

  /** typeExpr := name "[" (dim ("," dim)* ","?)? "]" ("of" expression)? */
  private typeExpr = this.RULE("typeExpr", () => {
    this.CONSUME(t.Identifier);
    this.CONSUME(t.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.dim);
      this.MANY(() => {
        this.CONSUME(t.Comma);
        this.SUBRULE2(this.dim);
      });
      this.OPTION2(() => this.CONSUME2(t.Comma));
    });
    this.CONSUME(t.RBracket);
    this.OPTION3(() => {
      this.CONSUME(t.Of);
      this.SUBRULE(this.expression);
    });
  });

  /** dim := expression ("<=" expression)? */
  private dim = this.RULE("dim", () => {
    this.SUBRULE(this.expression);
    this.OPTION(() => {
      this.CONSUME(t.LessEq);
      this.SUBRULE2(this.expression);
    });
  });

  /** body := "{" sep* (statement (sep+ statement?)*)? "}" */
  public body = this.RULE("body", () => {
    this.CONSUME(t.LCurly);
    this.MANY(() => this.CONSUME(Separator));
    this.OPTION(() => {
      this.SUBRULE(this.statement);
      this.MANY2(() => {
        this.AT_LEAST_ONE(() => this.CONSUME2(Separator));
        this.OPTION2(() => this.SUBRULE2(this.statement));
      });
    });
    this.CONSUME(t.RCurly);
  });

  /** statement := inputStmt | outputStmt | expectStmt | lossStmt | constDecl | binding | flow */
  public statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputStmt) },
      { ALT: () => this.SUBRULE(this.outputStmt) },
      { ALT: () => this.SUBRULE(this.expectStmt) },
      { ALT: () => this.SUBRULE(this.lossStmt) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.binding) },
      { ALT: () => this.SUBRULE(this.flow) },
    ]);
  });

  /** inputStmt := "input" name ("," name)* */
  private inputStmt = this.RULE("inputStmt", () => {
    this.CONSUME(t.Input);
    this.CONSUME(t.Identifier);
    this.MANY(() => {
      this.CONSUME(t.Comma);
      this.CONSUME2(t.Identifier);
    });
  });

  /** outputStmt := "output" expression ("," expression)* */
  private outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(t.Output);
    this.SUBRULE(this.expression);
    this.MANY(() => {
      this.CONSUME(t.Comma);
      this.SUBRULE2(this.expression);
    });
  });

  /** expectStmt := "expect" name compareOp expression */
  private expectStmt = this.RULE("expectStmt", () => {
    this.CONSUME(t.Expect);
    this.CONSUME(t.Identifier);
    this.SUBRULE(this.compareOp);
    this.SUBRULE(this.expression);
  });

  /** compareOp := "==" | "!=" | "<" | "<=" | ">" | ">=" */
  private compareOp = this.RULE("compareOp", () => {
    this.OR([
      { ALT: () => this.CONSUME(t.EqEq) },
      { ALT: () => this.CONSUME(t.NotEq) },
      { ALT: () => this.CONSUME(t.LessEq) },
      { ALT: () => this.CONSUME(t.Less) },
      { ALT: () => this.CONSUME(t.GreaterEq) },
      { ALT: () => this.CONSUME(t.Greater) },
    ]);
  });

  /** lossStmt := "loss" expression */
  private lossStmt = this.RULE("lossStmt", () => {
    this.CONSUME(t.Loss);
    this.SUBRULE(this.expression);
  });

  /** binding := name ("," name)* "=" flow */
  private binding = this.RULE("binding", () => {
    this.CONSUME(t.Identifier);
    this.MANY(() => {
      this.CONSUME(t.Comma);
      this.CONSUME2(t.Identifier);
    });
    this.CONSUME(t.Equals);
    this.SUBRULE(this.flow);
  });

  /** flow := stage ("->"? stage)* */
  private flow = this.RULE("flow", () => {
    this.SUBRULE(this.stage);
    this.MANY(() => {
      this.OPTION(() => this.CONSUME(t.Arrow));
      this.SUBRULE2(this.stage);
    });
  });

  /** stage := "repeat" expression ("as" (namePath | string))? ("from" expression)? ("with" identifier)? body
   *           | expression ("as" namePath)? body? */
  private stage = this.RULE("stage", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(t.Repeat);
          this.SUBRULE(this.expression);
          this.OPTION(() => {
            this.CONSUME(t.As);
            this.OR2([{ ALT: () => this.SUBRULE(this.namePath) }, { ALT: () => this.CONSUME(t.StringLiteral) }]);
          });
          this.OPTION4(() => {
            this.CONSUME(t.From);
            this.SUBRULE3(this.expression);
          });
          this.OPTION5(() => {
            this.CONSUME(t.With);
            this.CONSUME(t.Identifier);
          });
          this.SUBRULE(this.body);
        },
      },
      {
        ALT: () => {
          this.SUBRULE2(this.expression);
          this.OPTION2(() => {
            this.CONSUME2(t.As);
            this.SUBRULE2(this.namePath);
          });
          this.OPTION3(() => this.SUBRULE2(this.body));
        },
      },
    ]);
  });

  /** namePath := segment ("." segment)* */
  private namePath = this.RULE("namePath", () => {
    this.SUBRULE(this.segment);
    this.MANY(() => {
      this.CONSUME(t.Dot);
      this.SUBRULE2(this.segment);
    });
  });

  /** segment := name | keyword | integer */
  private segment = this.RULE("segment", () => {
    this.OR([{ ALT: () => this.CONSUME(t.Word) }, { ALT: () => this.CONSUME(t.Integer) }]);
  });

  /** expression := operand (("+" | "-" | "*" | "/" | "//" | "%") operand)*
   *  (precedence — `* / // %` over `+ -`, left to right — is applied when the AST is built: one flat rule
   *  keeps the parse tree small, which is most of the parser's cost) */
  public expression = this.RULE("expression", () => {
    this.SUBRULE(this.operand);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(t.Plus) },
        { ALT: () => this.CONSUME(t.Minus) },
        { ALT: () => this.CONSUME(t.Star) },
        { ALT: () => this.CONSUME(t.SlashSlash) },
        { ALT: () => this.CONSUME(t.Slash) },
        { ALT: () => this.CONSUME(t.Percent) },
      ]);
      this.SUBRULE2(this.operand);
    });
  });

  /** operand := "-"* (integer | decimal | string | "true" | "false" | call | "(" expression ")" | list | body) ("." segment)* */
  private operand = this.RULE("operand", () => {
    this.MANY(() => this.CONSUME(t.Minus));
    this.OR([
      { ALT: () => this.CONSUME(t.Integer) },
      { ALT: () => this.CONSUME(t.Decimal) },
      { ALT: () => this.CONSUME(t.StringLiteral) },
      { ALT: () => this.CONSUME(t.True) },
      { ALT: () => this.CONSUME(t.False) },
      { ALT: () => this.SUBRULE(this.call) },
      {
        ALT: () => {
          this.CONSUME(t.LParen);
          this.SUBRULE(this.expression);
          this.CONSUME(t.RParen);
        },
      },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.body) },
    ]);
    this.MANY2(() => {
      this.CONSUME(t.Dot);
      this.SUBRULE(this.segment);
    });
  });

  /** call := name ("(" (arg ("," arg)* ","?)? ")")? */
  private call = this.RULE("call", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() => {
      this.CONSUME(t.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.arg);
        this.MANY(() => {
          this.CONSUME(t.Comma);
          this.SUBRULE2(this.arg);
        });
        this.OPTION3(() => this.CONSUME2(t.Comma));
      });
      this.CONSUME(t.RParen);
    });
  });

  /** arg := (name "=")? (keywordPath | expression) */
  private arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(t.Identifier);
      this.CONSUME(t.Equals);
    });
    this.OR([{ ALT: () => this.SUBRULE(this.keywordPath) }, { ALT: () => this.SUBRULE(this.expression) }]);
  });

  /** keywordPath := keyword ("." segment)*   (a path that starts with a keyword other than `true`/`false`: `tie = model.embed_tokens`) */
  private keywordPath = this.RULE("keywordPath", () => {
    this.CONSUME(t.NameKeyword);
    this.MANY(() => {
      this.CONSUME(t.Dot);
      this.SUBRULE(this.segment);
    });
  });

  /** list := "[" (expression ("," expression)* ","?)? "]" */
  private list = this.RULE("list", () => {
    this.CONSUME(t.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY(() => {
        this.CONSUME(t.Comma);
        this.SUBRULE2(this.expression);
      });
      this.OPTION2(() => this.CONSUME2(t.Comma));
    });
    this.CONSUME(t.RBracket);
  });
}

/** One parser instance, reused (Chevrotain parsers are built once and reset per input). */
export const parser = new NnParser();

export type { CstNode };
