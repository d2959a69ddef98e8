// Writes grammar/grammar.ebnf, grammar/diagrams.html and grammar/cst.ts from the parser, and the generated sections of grammar/README.md and the TextMate grammar's layer kinds (run after `npm run build`).
import fs from "node:fs";
import { grammarCstTypes, grammarDiagramsHtml, grammarEbnf } from "../dist/grammar/docs.js";
import { withCatalogue } from "../dist/src/diagnostics/catalogue-doc.js";
import { withVocabulary } from "../dist/src/vocabulary/vocabulary-doc.js";
import { layers } from "../dist/src/vocabulary/layers.js";

fs.writeFileSync("grammar/grammar.ebnf", grammarEbnf(fs.readFileSync("grammar/parser.ts", "utf8")));
fs.writeFileSync("grammar/diagrams.html", grammarDiagramsHtml());
fs.writeFileSync("grammar/cst.ts", grammarCstTypes());
const withDiagnostics = withCatalogue(fs.readFileSync("grammar/README.md", "utf8"));
if (withDiagnostics === undefined) throw new Error("grammar/README.md lacks the diagnostics markers");
const readme = withVocabulary(withDiagnostics);
if (readme === undefined) throw new Error("grammar/README.md lacks the vocabulary markers");
fs.writeFileSync("grammar/README.md", readme);
// The TextMate grammar's list of layer kinds (editors/vscode), from the registry; test/textmate.test.ts checks it.
const tmPath = "editors/vscode/syntaxes/nn.tmLanguage.json";
const tm = fs.readFileSync(tmPath, "utf8");
const kindList =
  /(\(\?<!\[A-Za-z0-9_\]\)\()[a-z0-9_|]+(\)\(\?!\[A-Za-z0-9_\]\)",\s*"name": "support\.function\.layer\.nn")/;
if (!kindList.test(tm)) throw new Error(`${tmPath} lacks the layer-kind pattern`);
fs.writeFileSync(tmPath, tm.replace(kindList, `$1${layers.map((l) => l.kind).join("|")}$2`));
console.log(
  "wrote grammar/grammar.ebnf, grammar/diagrams.html, grammar/cst.ts, the vocabulary and diagnostics of grammar/README.md and the layer kinds of the TextMate grammar",
);
