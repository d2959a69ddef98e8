// Writes grammar/grammar.ebnf and grammar/diagrams.html from the parser (run after `npm run build`).
import fs from "node:fs";
import { grammarDiagramsHtml, grammarEbnf } from "../dist/grammar/docs.js";

fs.writeFileSync("grammar/grammar.ebnf", grammarEbnf(fs.readFileSync("grammar/parser.ts", "utf8")));
fs.writeFileSync("grammar/diagrams.html", grammarDiagramsHtml());
console.log("wrote grammar/grammar.ebnf and grammar/diagrams.html");
