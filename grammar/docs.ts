// Generates the grammar's documentation from the parser itself, so that it cannot drift: the EBNF from the
// production comment above each rule of parser.ts, the railroad diagrams from Chevrotain's serialized
// grammar, and the concrete syntax tree's types (grammar/cst.ts) from Chevrotain's `generateCstDts`, so that
// the AST builder is type-checked against the grammar. `npm run grammar` writes grammar/grammar.ebnf,
// grammar/diagrams.html and grammar/cst.ts; a test checks all three.
import { createSyntaxDiagramsCode, generateCstDts } from "chevrotain";
import { parser } from "./parser.js";

const lexical = `(* The .nn language — EBNF generated from grammar/parser.ts by \`npm run grammar\`. Do not edit. *)

(* Lexical grammar *)
name       = letter_ , { letter_ | digit } ;          (* not a keyword *)
letter_    = "A" … "Z" | "a" … "z" | "_" ;
integer    = digit , { digit | "_" } ;                (* "_" only between digits: 50_257 *)
decimal    = integer , ( "." , integer , [ exponent ] | exponent ) ;
exponent   = ( "e" | "E" ) , [ "+" | "-" ] , digit , { digit } ;
string     = '"' , { character - ( '"' | "\\\\" | newline ) | "\\\\" , ( '"' | "\\\\" ) } , '"' ;
comment    = "#" , { character - newline } ;          (* ignored by the parser, kept by nnc fmt *)
sep        = newline | ";" ;                          (* newlines inside ( ) and [ ], after a token that needs
                                                          a continuation (-> = , + - * / // % …), before } and
                                                          at the start of a body are not separators *)
keyword    = "model" | "block" | "const" | "import" | "from" | "as" | "of" | "repeat" | "input" | "output"
           | "expect" | "loss" | "true" | "false" ;

(* Syntactic grammar *)
`;

/** Collects `/** rule := … *\/` production comments from the parser's source, in order. */
export function grammarEbnf(parserSource: string): string {
  const productions: string[] = [];
  const re = /\/\*\*\s*([a-zA-Z]+)\s*:=\s*([\s\S]*?)\*\//g;
  for (const m of parserSource.matchAll(re)) {
    const rhs = m[2]!.replace(/\s*\n\s*\*?\s*/g, " ").trim();
    productions.push(`${m[1]!.padEnd(14)} = ${rhs} ;`);
  }
  return lexical + productions.join("\n") + "\n";
}

export function grammarDiagramsHtml(): string {
  return createSyntaxDiagramsCode(parser.getSerializedGastProductions());
}

/** The CST's types: one `…CstNode`/`…CstChildren` pair per rule and the `NnCstVisitor` interface that
 *  `src/syntax/build-ast.ts` implements. Chevrotain writes `(IToken)[]`; the parentheses are dropped so that
 *  the file is what a formatter would write. */
export function grammarCstTypes(): string {
  const dts = generateCstDts(parser.getGAstProductions(), {
    includeVisitorInterface: true,
    visitorInterfaceName: "NnCstVisitor",
  });
  const header =
    "// The concrete syntax tree's types, generated from grammar/parser.ts by `npm run grammar` (Chevrotain's\n" +
    "// generateCstDts). Do not edit: test/grammar-docs.test.ts checks that this file is current.\n";
  return (
    header +
    dts
      .replace(/\((\w+)\)\[\]/g, "$1[]")
      .replace(/\n{3,}/g, "\n\n")
      .trimEnd() +
    "\n"
  );
}
