// The runtime files generated modules carry: real TypeScript sources of this package, type-checked and
// linted with the rest, read as text when a module is generated and copied in. Each is import-free but for
// the runtime files it calls (which a module also carries); the copy drops those imports and the `export`
// keywords, but for the types a module's own API names. The build copies them to dist/runtime/<name>.ts.txt
// (scripts/copy-runtime.mjs; the package ships dist/, not src/): they are found from this file's place,
// the copy beside the built code first (dist/src/, the CLI bundle), the sources otherwise (tests on src/).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Every runtime file, by name, relative to the package's root. */
export const runtimeFiles = {
  safetensors: "src/weights/safetensors.ts",
  weights: "src/emit/runtime/weights.ts",
} as const;

export type RuntimeName = keyof typeof runtimeFiles;

/** Declarations a generated module exports (its API names them). */
const exported: Readonly<Record<RuntimeName, readonly string[]>> = {
  safetensors: [],
  weights: ["LoadOptions", "LoadReport"],
};

/** Where a runtime file is: the nearest folder above this file that holds `runtime/<name>.ts.txt` (built)
 *  or the source itself. */
function runtimePath(name: RuntimeName): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [path.join(dir, "runtime", `${name}.ts.txt`), path.join(dir, runtimeFiles[name])]) {
      if (fs.existsSync(candidate)) return candidate;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`internal: the runtime file ${runtimeFiles[name]} is not installed with nnc`);
    dir = up;
  }
}

const texts = new Map<RuntimeName, string>();

/** A runtime file as a generated module carries it: no import, no `export` but on its public types. */
export function runtimeText(name: RuntimeName): string {
  let text = texts.get(name);
  if (text === undefined) {
    const source = fs.readFileSync(runtimePath(name), "utf8");
    const keep = new Set(exported[name]);
    text = source
      .replace(/^import [^;]*;\n/gm, "")
      .replace(
        /^export ((?:interface|type|function|const|class) ([A-Za-z_$][\w$]*))/gm,
        (all, rest: string, id: string) => (keep.has(id) ? all : rest),
      );
    texts.set(name, text);
  }
  return text;
}
