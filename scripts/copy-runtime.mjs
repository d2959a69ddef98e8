// Copies the runtime files generated modules carry (src/emit/runtime-text.ts, `runtimeFiles`) to
// dist/runtime/<name>.ts.txt (run by `npm run build`, after tsc): the package ships dist/, not src/, and
// the generator reads them as text.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeFiles } from "../dist/src/emit/runtime-text.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "dist", "runtime");
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const [name, file] of Object.entries(runtimeFiles)) {
  fs.copyFileSync(path.join(root, file), path.join(out, `${name}.ts.txt`));
}
