// The committed EBNF, railroad diagrams and CST types must be what the parser generates (`npm run gen` refreshes them).
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { grammarCstTypes, grammarDiagramsHtml, grammarEbnf } from "../grammar/docs.js";
import { withVocabulary } from "../src/vocabulary/vocabulary-doc.js";

describe("generated grammar documentation", () => {
  it("grammar/grammar.ebnf matches the production comments of grammar/parser.ts", () => {
    const wanted = grammarEbnf(fs.readFileSync("grammar/parser.ts", "utf8"));
    expect(fs.readFileSync("grammar/grammar.ebnf", "utf8")).toBe(wanted);
  });

  it("every parser rule has a production comment", () => {
    const source = fs.readFileSync("grammar/parser.ts", "utf8");
    const rules = [...source.matchAll(/this\.RULE\("(\w+)"/g)].map((m) => m[1]);
    const documented = [...source.matchAll(/\/\*\*\s*(\w+)\s*:=/g)].map((m) => m[1]);
    expect(documented).toEqual(rules);
  });

  it("grammar/diagrams.html is generated from the parser", () => {
    expect(fs.readFileSync("grammar/diagrams.html", "utf8")).toBe(grammarDiagramsHtml());
  });

  it("grammar/cst.ts (the CST types the AST builder implements) is generated from the parser", () => {
    expect(fs.readFileSync("grammar/cst.ts", "utf8")).toBe(grammarCstTypes());
  });

  it("grammar/README.md's Vocabulary is generated from the registry of kinds (`npm run grammar`)", () => {
    const readme = fs.readFileSync("grammar/README.md", "utf8");
    const wanted = withVocabulary(readme);
    expect(wanted, "grammar/README.md lacks the vocabulary markers").toBeDefined();
    expect(readme).toBe(wanted);
  });
});
