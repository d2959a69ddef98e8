// Regenerates every committed generated artifact (run after `npm run build`): the grammar's EBNF and
// railroad diagrams, and generated/ (the compiler's output for examples/). Tests fail when a committed
// artifact is stale; they never rewrite it.
import fs from "node:fs";
import path from "node:path";
import "./grammar.mjs";
import { expectedGenerated } from "../dist/src/emit/generated-dir.js";

const dir = "generated";
const { files } = await expectedGenerated("examples");
fs.mkdirSync(dir, { recursive: true });
for (const name of fs.readdirSync(dir)) if (!files.has(name)) fs.rmSync(path.join(dir, name));
for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), text);
console.log(`wrote ${files.size} files to ${dir}/`);
