// Writes grammar/grammar.ebnf, grammar/diagrams.html and grammar/cst.ts from the parser (run after `npm run build`).
import fs from "node:fs";
import { grammarCstTypes, grammarDiagramsHtml, grammarEbnf } from "../dist/grammar/docs.js";

fs.writeFileSync("grammar/grammar.ebnf", grammarEbnf(fs.readFileSync("grammar/parser.ts", "utf8")));
fs.writeFileSync("grammar/diagrams.html", grammarDiagramsHtml());
fs.writeFileSync("grammar/cst.ts", grammarCstTypes());
console.log("wrote grammar/grammar.ebnf, grammar/diagrams.html and grammar/cst.ts");
