// Writes grammar/grammar.ebnf, grammar/diagrams.html and grammar/cst.ts from the parser, and the generated sections of grammar/README.md (run after `npm run build`).
import fs from "node:fs";
import { grammarCstTypes, grammarDiagramsHtml, grammarEbnf } from "../dist/grammar/docs.js";
import { withCatalogue } from "../dist/src/diagnostics/catalogue-doc.js";
import { withVocabulary } from "../dist/src/vocabulary/vocabulary-doc.js";

fs.writeFileSync("grammar/grammar.ebnf", grammarEbnf(fs.readFileSync("grammar/parser.ts", "utf8")));
fs.writeFileSync("grammar/diagrams.html", grammarDiagramsHtml());
fs.writeFileSync("grammar/cst.ts", grammarCstTypes());
const withDiagnostics = withCatalogue(fs.readFileSync("grammar/README.md", "utf8"));
if (withDiagnostics === undefined) throw new Error("grammar/README.md lacks the diagnostics markers");
const readme = withVocabulary(withDiagnostics);
if (readme === undefined) throw new Error("grammar/README.md lacks the vocabulary markers");
fs.writeFileSync("grammar/README.md", readme);
console.log(
  "wrote grammar/grammar.ebnf, grammar/diagrams.html, grammar/cst.ts and the vocabulary and diagnostics of grammar/README.md",
);
